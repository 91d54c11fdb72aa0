import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  valueFromAST,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { hasNul } from '../chat/validate-input.js';
import type { Config } from '../config.js';
import { MAX_MEMORY_CHARS } from '../memory/memory-service.js';
import { MAX_DOCUMENT_BYTES } from '../rag/document-service.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../schema/builder.js';

/**
 * Limits on the values an operation passes, checked once variables are known and before any
 * resolver runs. Every String and ID argument has a size: its own (by schema coordinate) or the
 * default; connections page at most `maxPageSize` rows and, multiplied down any path of nested
 * connections, at most `maxConnectionNodes` (graphql-armor's cost cannot see page sizes that
 * arrive as variables, nor the default page size).
 */
export interface ArgumentLimits {
  maxPageSize: number;
  /** Page size when neither `first` nor `last` is given (Pothos' default). */
  defaultPageSize: number;
  maxConnectionNodes: number;
  /** For a String or ID without a limit of its own, in characters. */
  maxStringChars: number;
  /** By coordinate: `SendMessageInput.systemPrompt` for an input field, `Query.search(query:)` for an argument. */
  stringLimits: Record<string, number>;
  /** A JSON argument, serialized, in characters. */
  maxJsonChars: number;
}

/** Texts with a size of their own; every other String or ID gets `graphql.maxStringChars` (1,000). */
export function argumentLimitsFor(config: Config): ArgumentLimits {
  const { chat, graphql } = config.file;
  const searchQuery = 4_000; // a question, not a document: embedders and full-text read the start anyway
  return {
    maxPageSize: MAX_PAGE_SIZE,
    defaultPageSize: DEFAULT_PAGE_SIZE,
    maxConnectionNodes: graphql.maxConnectionNodes,
    maxStringChars: graphql.maxStringChars,
    maxJsonChars: 16 * 1024,
    stringLimits: {
      'SendMessageInput.content': chat.maxContentChars,
      'SendMessageInput.systemPrompt': chat.maxSystemPromptChars,
      // in bytes the service says more precisely; a character is at least one byte
      'IngestDocumentInput.content': MAX_DOCUMENT_BYTES,
      'RememberInput.content': MAX_MEMORY_CHARS,
      'Query.search(query:)': searchQuery,
      'Query.recall(query:)': searchQuery,
    },
  };
}

/**
 * Refuses an operation over a limit with BAD_USER_INPUT, naming the argument, its size and the
 * maximum; and a String, ID or JSON value holding U+0000, which Postgres cannot store. Literals
 * are checked with validation (so a literal page size is refused for what it is, before the cost
 * rule sees it); values from variables when the operation is about to run.
 */
export function useArgumentLimits(limits: ArgumentLimits): Plugin {
  type Args = {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: unknown;
  };
  const check = ({ schema, document, operationName, variableValues }: Args) => {
    const operation = getOperationAST(document, operationName);
    if (!operation) return undefined; // execution reports this itself
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    return findOverLimit(limits, schema, operation, (name) => fragments.get(name), variableValues as Variables);
  };
  return {
    onValidate({ addValidationRule }) {
      addValidationRule((context: ValidationContext) => ({
        OperationDefinition(operation: OperationDefinitionNode) {
          const schema = context.getSchema();
          const refusal = findOverLimit(limits, schema, operation, (name) => context.getFragment(name), undefined);
          if (refusal) context.reportError(refusal);
        },
      }));
    },
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}

type Variables = Record<string, unknown> | null | undefined;

const refusal = (message: string, extensions: Record<string, unknown>) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extensions } });

/** Postgres text cannot hold U+0000: refused here rather than failing (a 500) where it is stored. */
const nulRefusal = (name: string) =>
  refusal(`${name} contains a NUL character (U+0000), which cannot be stored`, { field: name });

/**
 * The first value of the operation over a limit, as the error to send; undefined when all fit.
 * Without variables, only literals are checked (a variable's value counts as not given).
 */
export function findOverLimit(
  limits: ArgumentLimits,
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
  variables: Variables,
): GraphQLError | undefined {
  const root = schema.getRootType(operation.operation);
  if (!root) return undefined; // validation reports this itself

  const checkValue = (
    value: unknown,
    type: GraphQLInputType,
    coordinate: string,
    name: string,
  ): GraphQLError | undefined => {
    if (value == null) return undefined;
    if (isNonNullType(type)) return checkValue(value, type.ofType, coordinate, name);
    if (isListType(type)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        const error = checkValue(item, type.ofType, coordinate, name);
        if (error) return error;
      }
      return undefined;
    }
    if (isInputObjectType(type)) {
      if (typeof value !== 'object') return undefined; // validation reports it
      for (const field of Object.values(type.getFields())) {
        const input = (value as Record<string, unknown>)[field.name];
        const error = checkValue(input, field.type, `${type.name}.${field.name}`, `${name}.${field.name}`);
        if (error) return error;
      }
      return undefined;
    }
    if (!isScalarType(type)) return undefined;
    if ((type.name === 'String' || type.name === 'ID') && typeof value === 'string') {
      const max = limits.stringLimits[coordinate] ?? limits.maxStringChars;
      if (value.length > max) {
        return refusal(`${name} is ${value.length} characters; at most ${max} are allowed`, { field: name, max });
      }
      return value.includes('\u0000') ? nulRefusal(name) : undefined;
    }
    if (type.name === 'JSON') {
      const max = limits.maxJsonChars;
      const size = jsonSize(value, max);
      if (size === 'too deep') {
        return refusal(`${name} is nested deeper than ${MAX_JSON_DEPTH} levels`, { field: name, max: MAX_JSON_DEPTH });
      }
      if (size > max) {
        return refusal(`${name} is over ${max} characters of JSON; at most ${max} are allowed`, { field: name, max });
      }
      return hasNul(value) ? nulRefusal(name) : undefined;
    }
    return undefined;
  };

  // Fragments can be spread again and again, or (before validation rejects it) in a cycle: each is
  // followed once per path, and a walk that meets more fields than any real operation has stops.
  let fieldsLeft = MAX_FIELDS_WALKED;
  const walk = (
    selections: SelectionSetNode,
    parent: GraphQLNamedType,
    rows: number,
    spreading: ReadonlySet<string>,
  ): GraphQLError | undefined => {
    for (const selection of selections.selections) {
      let error: GraphQLError | undefined;
      if (selection.kind === Kind.FIELD) {
        if (--fieldsLeft < 0) {
          return refusal(`the operation selects more than ${MAX_FIELDS_WALKED} fields`, {
            limit: 'fields',
            max: MAX_FIELDS_WALKED,
          });
        }
        const fieldName = selection.name.value;
        const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[fieldName] : undefined;
        if (!field) continue; // __typename, introspection, or unknown (validation's job)
        const values: Record<string, unknown> = {};
        for (const arg of field.args) {
          const node = selection.arguments?.find((a) => a.name.value === arg.name);
          values[arg.name] = node ? valueFromAST(node.value, arg.type, variables) : arg.defaultValue;
          error ??= checkValue(values[arg.name], arg.type, `${parent.name}.${fieldName}(${arg.name}:)`, arg.name);
        }
        const type = getNamedType(field.type);
        let below = rows;
        if (!error && type.name.endsWith('Connection') && field.args.some((a) => a.name === 'first')) {
          const asked = [values.first, values.last].find((n): n is number => typeof n === 'number');
          const size = asked ?? limits.defaultPageSize;
          below = rows * Math.min(size, limits.maxPageSize);
          if (size > limits.maxPageSize) {
            const arg = asked === values.first ? 'first' : 'last';
            error = refusal(`${arg} of ${fieldName} is ${size}; at most ${limits.maxPageSize} rows a page`, {
              field: arg,
              max: limits.maxPageSize,
            });
          } else if (below > limits.maxConnectionNodes) {
            error = refusal(
              `${fieldName} inside other connections asks for up to ${below} rows; at most ${limits.maxConnectionNodes} in one operation`,
              { field: fieldName, max: limits.maxConnectionNodes },
            );
          }
        }
        if (!error && selection.selectionSet) error = walk(selection.selectionSet, type, below, spreading);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type) error = walk(selection.selectionSet, type, rows, spreading);
      } else {
        const name = selection.name.value;
        const spread = spreading.has(name) ? undefined : fragment(name);
        const type = spread && schema.getType(spread.typeCondition.name.value);
        if (spread && type) error = walk(spread.selectionSet, type, rows, new Set(spreading).add(name));
      }
      if (error) return error;
    }
    return undefined;
  };

  return walk(operation.selectionSet, root, 1, new Set());
}

/** Far more fields than any operation within the cost limit selects, fragments expanded. */
const MAX_FIELDS_WALKED = 50_000;

/** JSON arguments nest at most this deep: recursion over them (JSON.stringify too) overflows the stack. */
const MAX_JSON_DEPTH = 64;

/** About how many characters `value` takes as JSON, counted without recursion; stops past `max`. */
function jsonSize(value: unknown, max: number): number | 'too deep' {
  let size = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0 && size <= max) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (depth > MAX_JSON_DEPTH) return 'too deep';
    if (typeof item === 'string') size += item.length + 2;
    else if (item === null || typeof item !== 'object') size += String(item).length;
    else {
      const entries = Array.isArray(item) ? item.map((v) => ['', v] as const) : Object.entries(item);
      size += 2 + entries.length;
      for (const [key, child] of entries) {
        size += key === '' ? 0 : key.length + 3;
        pending.push([child, depth + 1]);
      }
    }
  }
  return size;
}
