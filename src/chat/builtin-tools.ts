import type { MemoryService } from '../memory/memory-service.js';
import type { ToolCall, ToolDefinition } from '../providers/types.js';
import type { DocumentService } from '../rag/document-service.js';

/** Tools the gateway runs itself, over the viewer's own documents and memories. */
export type BuiltinTool = 'SEARCH_DOCUMENTS' | 'RECALL_MEMORY';

/** The names the model sees; a client tool may not take them. */
export const BUILTIN_TOOL_NAMES: Record<BuiltinTool, string> = {
  SEARCH_DOCUMENTS: 'search_documents',
  RECALL_MEMORY: 'recall_memory',
};

const QUERY_PARAMETERS = {
  type: 'object',
  properties: { query: { type: 'string', description: 'What to look for, in a few words' } },
  required: ['query'],
  additionalProperties: false,
};

const DEFINITIONS: Record<BuiltinTool, ToolDefinition> = {
  SEARCH_DOCUMENTS: {
    name: BUILTIN_TOOL_NAMES.SEARCH_DOCUMENTS,
    description: "Searches the user's documents; cite what you use as [n] with the numbers it returns.",
    parameters: QUERY_PARAMETERS,
  },
  RECALL_MEMORY: {
    name: BUILTIN_TOOL_NAMES.RECALL_MEMORY,
    description: 'Recalls facts remembered about the user.',
    parameters: QUERY_PARAMETERS,
  },
};

export const builtinDefinitions = (tools: readonly BuiltinTool[]) => tools.map((tool) => DEFINITIONS[tool]);

/** A source a builtin search returned, cited by the final message. */
export interface ToolCitation {
  chunkId: string;
  documentId: string;
  score: number;
}

const HITS = 5;
const MAX_QUERY_CHARS = 1_000;

/** Runs builtin tool calls for one user: never anyone else's rows (the services filter on userId). */
export interface BuiltinToolRunner {
  /** Whether the gateway runs calls of this name. */
  owns(name: string): boolean;
  /** The call's output as text for the model; sources it returned are added to `citations`. */
  run(call: ToolCall): Promise<string>;
  /** Every source returned so far, numbered in order from 1 (the [n] the model cites). */
  readonly citations: ToolCitation[];
}

export function createBuiltinToolRunner(deps: {
  documents: DocumentService;
  memory: MemoryService;
  userId: string;
  collection?: string | null | undefined;
  tools: readonly BuiltinTool[];
}): BuiltinToolRunner {
  const names = new Map(deps.tools.map((tool) => [BUILTIN_TOOL_NAMES[tool], tool]));
  const citations: ToolCitation[] = [];

  const queryOf = (call: ToolCall) => {
    try {
      const args = JSON.parse(call.arguments) as { query?: unknown };
      return typeof args.query === 'string' ? args.query.slice(0, MAX_QUERY_CHARS).trim() : '';
    } catch {
      return '';
    }
  };

  return {
    owns: (name) => names.has(name),
    citations,
    async run(call) {
      const query = queryOf(call);
      if (query === '') return 'Error: the arguments must be {"query": "<text>"}';
      if (names.get(call.name) === 'SEARCH_DOCUMENTS') {
        const hits = await deps.documents.search(deps.userId, query, HITS, 'HYBRID', deps.collection);
        if (hits.length === 0) return 'No matching documents.';
        return hits
          .map((hit) => {
            citations.push({ chunkId: hit.chunk.id, documentId: hit.document.id, score: hit.score });
            return `[${citations.length}] ${hit.document.title}\n${hit.chunk.content}`;
          })
          .join('\n\n');
      }
      const recalled = await deps.memory.recall(deps.userId, query, HITS);
      if (recalled.length === 0) return 'Nothing remembered about that.';
      return recalled.map((hit) => `- ${hit.memory.content}`).join('\n');
    },
  };
}
