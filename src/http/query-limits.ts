import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Limits of one GraphQL document. The defaults (config file, `graphql:`) and why:
 * - depth 12: the deepest real read, `node -> messages -> edges -> node -> citations -> chunk ->
 *   document -> title`, is 9; a cycle (conversation -> messages -> node -> conversation) costs 4
 *   levels, so 12 allows under three turns of it instead of the 25 a 1 KB query packs.
 * - aliases 15 (graphql-armor's default): enough to fetch a handful of things twice; 10,000
 *   aliases of `health` once made 10,000 database pings.
 * - cost 20,000: `conversation { messages(last: 100) { ...6 fields } }` costs about 5,200, so
 *   graphql-armor's default (5,000) refused a plain page of 100; two nested literal pages of 100
 *   (10,000 rows) cost far more than 20,000.
 * - tokens 2,000: GraphiQL's introspection query has 184, every operation in this repository's
 *   tests, README and benchmarks fewer. It bounds the parser, and the validation rules that are
 *   quadratic in fields (10,000 aliases of `health` stop here, while parsing).
 * - directives 50 (graphql-armor's default).
 */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
  maxDirectives: number;
}

/**
 * graphql-armor's envelop plugins, refusing with BAD_USER_INPUT and `extensions.limit` (depth,
 * aliases, cost, tokens, directives) and `extensions.max`. The document-shape limits run as
 * validation rules and the token limit inside the parser, so they hold wherever yoga's enveloped
 * parse and validate run: HTTP, SSE and graphql-ws alike. Introspection is exempt from depth and
 * cost, so GraphiQL's schema query passes.
 */
export function useQueryLimits(limits: QueryLimits): Plugin[] {
  // graphql-armor loads graphql's CommonJS build: its GraphQLError is another class than ours,
  // so every refusal is made here, as our own error.
  const refuse = (limit: string, max: number) => ({
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: Error) => {
        const refusal = new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'BAD_USER_INPUT', limit, max },
        });
        // In a validation rule it joins the other validation errors; in the parser it stops parsing.
        if (context) context.reportError(refusal);
        else throw refusal;
      },
    ],
  });
  return [
    maxTokensPlugin({ n: limits.maxTokens, ...refuse('tokens', limits.maxTokens) }),
    maxDepthPlugin({ n: limits.maxDepth, flattenFragments: true, ...refuse('depth', limits.maxDepth) }),
    maxAliasesPlugin({ n: limits.maxAliases, ...refuse('aliases', limits.maxAliases) }),
    maxDirectivesPlugin({ n: limits.maxDirectives, ...refuse('directives', limits.maxDirectives) }),
    costLimitPlugin({ maxCost: limits.maxCost, flattenFragments: true, ...refuse('cost', limits.maxCost) }),
  ] as Plugin[];
}
