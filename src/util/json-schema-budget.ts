/**
 * What a client's JSON Schema may cost to compile and to validate a reply against, measured before
 * ajv sees it. The schema is small (16-64 KiB of JSON) but its cost is not: `$ref`s multiply
 * (`allOf` of two refs to the level below, 30 levels deep, is 2^30 checks of one value), counted
 * repetitions expand a regex program (`[\s\S]{1000}`), and a `$ref` to itself never ends. Every
 * bound here is on the schema alone, so a refusal comes before anything is compiled or stored.
 */

/** Why a schema is refused: `code` for callers and tests, `message` for the client. */
export interface SchemaBudgetProblem {
  code: 'UNSUPPORTED_REF' | 'REF_LOOP' | 'TOO_EXPANDED' | 'TOO_DEEP_RECURSION' | 'PATTERN_TOO_COSTLY';
  message: string;
}

/** Schema nodes once every `$ref` is inlined (a recursive one once): ajv compiles about this much code. */
export const MAX_EXPANDED_NODES = 10_000;
/**
 * Schema nodes one path of a reply (root to a leaf, at most MAX_REPLY_DEPTH deep) is checked
 * against. A legit recursive schema grows by a few nodes per level; a branching one doubles.
 */
export const MAX_PATH_CHECKS = 10_000;
/** Replies nested deeper are not validated (the output check says so): the bound above assumes it. */
export const MAX_REPLY_DEPTH = 64;
/** Per `pattern` / `patternProperties` key: its text, and its program with counted repetitions expanded. */
export const MAX_PATTERN_CHARS = 1_000;
export const MAX_PATTERN_PROGRAM = 1_000;
/** Every pattern of the schema together (RE2 compiles each and runs each over the reply's strings). */
export const MAX_SCHEMA_PATTERN_PROGRAM = 5_000;

type Json = unknown;
const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keywords whose subschemas check the same value (in place), or an object's / array's members. */
const IN_PLACE_ONE = ['not', 'if', 'then', 'else'];
const IN_PLACE_LIST = ['allOf', 'anyOf', 'oneOf'];
const IN_PLACE_MAP = ['dependentSchemas', 'dependencies'];
const OBJECT_ONE = ['additionalProperties', 'propertyNames', 'unevaluatedProperties'];
const ARRAY_ONE = ['additionalItems', 'contains', 'unevaluatedItems'];
/** Values that are data, not schemas: a `$id` in them means nothing. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples']);

interface SchemaNode {
  /** 1, or more for a node with a `pattern` (its program). */
  weight: number;
  inPlace: string[];
  /** A member is checked against at most one of a group (`properties`, tuple `items`): the costliest counts. */
  objectGroups: string[][];
  arrayGroups: string[][];
}

/** The schema's problem, or null when its cost is bounded as above. */
export function schemaBudgetProblem(schema: Json): SchemaBudgetProblem | null {
  try {
    const idProblem = nestedId(schema, true);
    if (idProblem) return idProblem;
    const graph = buildGraph(schema);
    if ('code' in graph) return graph;
    return refLoop(graph) ?? expansion(graph) ?? pathChecks(graph);
  } catch (error) {
    // The walks recurse along $ref chains; callers bound the schema's size, so only a chain far
    // longer than any ordinary schema's gets here, and it is refused rather than thrown.
    if (!(error instanceof RangeError)) throw error;
    return { code: 'TOO_EXPANDED', message: 'the schema’s $refs chain too deep to measure' };
  }
}

/** A `$id` below the root moves the base that ajv resolves `$ref`s against; this measure does not follow it. */
function nestedId(value: Json, root: boolean): SchemaBudgetProblem | null {
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = nestedId(item, false);
      if (problem) return problem;
    }
  } else if (isObject(value)) {
    if (!root && typeof value.$id === 'string') {
      return { code: 'UNSUPPORTED_REF', message: '$id is only supported at the root of the schema' };
    }
    for (const [key, child] of Object.entries(value)) {
      if (DATA_KEYWORDS.has(key)) continue;
      const problem = nestedId(child, false);
      if (problem) return problem;
    }
  }
  return null;
}

/** Every schema node reachable from the root, by JSON pointer, with `$ref`s resolved to pointers. */
function buildGraph(root: Json): Map<string, SchemaNode> | SchemaBudgetProblem {
  const rootId = isObject(root) && typeof root.$id === 'string' ? root.$id.replace(/#$/, '') : undefined;
  const nodes = new Map<string, SchemaNode>();
  let patternTotal = 0;
  const pending = [''];
  while (pending.length > 0) {
    const pointer = pending.pop() as string;
    if (nodes.has(pointer)) continue;
    const value = resolve(root, pointer)?.value;
    const node: SchemaNode = { weight: 1, inPlace: [], objectGroups: [], arrayGroups: [] };
    nodes.set(pointer, node);
    if (!isObject(value)) continue;
    const at = (...path: string[]) => {
      const child = `${pointer}/${path.map(escapeToken).join('/')}`;
      pending.push(child);
      return child;
    };
    const patterns: string[] = [];
    if (typeof value.pattern === 'string') patterns.push(value.pattern);
    if (typeof value.$ref === 'string') {
      const pointed = refPointer(value.$ref, rootId);
      const target = pointed === undefined ? undefined : resolve(root, pointed)?.at;
      if (target === undefined) {
        return {
          code: 'UNSUPPORTED_REF',
          message: `$ref ${value.$ref.slice(0, 80)} is not a JSON pointer into the schema (#/...)`,
        };
      }
      pending.push(target);
      node.inPlace.push(target);
    }
    for (const key of IN_PLACE_ONE) if (key in value) node.inPlace.push(at(key));
    for (const key of IN_PLACE_LIST) {
      const list = value[key];
      if (Array.isArray(list)) node.inPlace.push(...list.map((_, i) => at(key, String(i))));
    }
    for (const key of IN_PLACE_MAP) {
      const map = value[key];
      if (isObject(map))
        for (const [name, v] of Object.entries(map)) if (!Array.isArray(v)) node.inPlace.push(at(key, name));
    }
    if (isObject(value.properties))
      node.objectGroups.push(Object.keys(value.properties).map((k) => at('properties', k)));
    if (isObject(value.patternProperties)) {
      for (const key of Object.keys(value.patternProperties)) {
        patterns.push(key);
        node.objectGroups.push([at('patternProperties', key)]);
      }
    }
    for (const key of OBJECT_ONE) if (key in value) node.objectGroups.push([at(key)]);
    for (const key of ['items', 'prefixItems']) {
      const items = value[key];
      if (Array.isArray(items)) node.arrayGroups.push(items.map((_, i) => at(key, String(i))));
      else if (items !== undefined) node.arrayGroups.push([at(key)]);
    }
    for (const key of ARRAY_ONE) if (key in value) node.arrayGroups.push([at(key)]);
    for (const pattern of patterns) {
      const cost = patternProgram(pattern);
      if (pattern.length > MAX_PATTERN_CHARS || cost > MAX_PATTERN_PROGRAM) {
        return {
          code: 'PATTERN_TOO_COSTLY',
          message: `a pattern is ${pattern.length} characters and about ${cost} regex instructions once repetitions are counted; at most ${MAX_PATTERN_CHARS} and ${MAX_PATTERN_PROGRAM} are allowed`,
        };
      }
      patternTotal += cost;
      node.weight += cost;
    }
    if (patternTotal > MAX_SCHEMA_PATTERN_PROGRAM) {
      return {
        code: 'PATTERN_TOO_COSTLY',
        message: `the schema's patterns add up to more than ${MAX_SCHEMA_PATTERN_PROGRAM} regex instructions once repetitions are counted`,
      };
    }
  }
  return nodes;
}

const escapeToken = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** `#/a/b` (or the root's `$id` followed by it) as the pointer `/a/b`; undefined for any other reference. */
function refPointer(ref: string, rootId: string | undefined): string | undefined {
  let local = ref;
  if (rootId && ref.startsWith(rootId)) local = ref.slice(rootId.length);
  if (local === '' || local === '#') return '';
  if (!local.startsWith('#/')) return undefined;
  try {
    return decodeURIComponent(local.slice(1));
  } catch {
    return undefined;
  }
}

/**
 * The value a pointer names, and the pointer spelled canonically (`/%61` and `/a`, `/01` and `/1`
 * are one node: spellings must not multiply a subtree), or undefined when it names nothing.
 */
function resolve(root: Json, pointer: string): { value: Json; at: string } | undefined {
  let value = root;
  let at = '';
  if (pointer === '') return { value, at };
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(value) && /^\d+$/.test(token) && Number(token) < value.length) {
      value = value[Number(token)];
      at += `/${Number(token)}`;
    } else if (isObject(value) && Object.hasOwn(value, token)) {
      value = value[token];
      at += `/${escapeToken(token)}`;
    } else return undefined;
  }
  return { value, at };
}

/** A cycle of in-place checks (`{"$ref": "#"}`, `allOf` back to itself) recurses forever on any value. */
function refLoop(graph: Map<string, SchemaNode>): SchemaBudgetProblem | null {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string): boolean => {
    if (state.get(id) === 'done') return false;
    if (state.get(id) === 'open') return true;
    state.set(id, 'open');
    for (const next of graph.get(id)?.inPlace ?? []) if (visit(next)) return true;
    state.set(id, 'done');
    return false;
  };
  for (const id of graph.keys()) {
    if (visit(id)) {
      return { code: 'REF_LOOP', message: 'a $ref leads back to itself without going into a property or item' };
    }
  }
  return null;
}

/** Nodes with every `$ref` inlined, a recursive one once (memoised, so shared definitions cost one walk). */
function expansion(graph: Map<string, SchemaNode>): SchemaBudgetProblem | null {
  const done = new Map<string, number>();
  const open = new Set<string>();
  const size = (id: string): number => {
    const known = done.get(id);
    if (known !== undefined) return known;
    if (open.has(id)) return 1;
    open.add(id);
    const node = graph.get(id) as SchemaNode;
    let total = node.weight;
    for (const next of [...node.inPlace, ...node.objectGroups.flat(), ...node.arrayGroups.flat()]) {
      total += size(next);
      if (total > MAX_EXPANDED_NODES) break;
    }
    open.delete(id);
    done.set(id, total);
    return total;
  };
  const total = size('');
  if (total <= MAX_EXPANDED_NODES) return null;
  return {
    code: 'TOO_EXPANDED',
    message: `the schema expands to more than ${MAX_EXPANDED_NODES} subschemas once its $refs are followed`,
  };
}

/**
 * Checks along one path of a reply up to MAX_REPLY_DEPTH deep: at each level, every in-place
 * subschema adds up, and of an object's (array's) member subschemas the costliest of each group.
 * A value is an object, an array or neither, so only that kind's members count: the usual
 * recursive "any JSON" schema (anyOf object-of-itself, array-of-itself) then grows by a constant.
 */
function pathChecks(graph: Map<string, SchemaNode>): SchemaBudgetProblem | null {
  // Indexed once: each level is a pass over typed arrays (a 64 KiB schema has thousands of nodes).
  const order = inPlaceOrder(graph);
  const index = new Map(order.map((id, i) => [id, i]));
  const indexed = order.map((id) => {
    const node = graph.get(id) as SchemaNode;
    const of = (ids: string[]) => ids.map((next) => index.get(next) as number);
    return {
      weight: node.weight,
      inPlace: of(node.inPlace),
      objectGroups: node.objectGroups.map(of),
      arrayGroups: node.arrayGroups.map(of),
    };
  });
  const rootAt = index.get('') as number;
  let below = new Float64Array(order.length); // the level below: max over kinds
  for (let depth = 0; depth <= MAX_REPLY_DEPTH; depth++) {
    const here = new Float64Array(order.length);
    const object = new Float64Array(order.length);
    const array = new Float64Array(order.length);
    const scalar = new Float64Array(order.length);
    const groupsCost = (groups: number[][]) => {
      let sum = 0;
      for (const group of groups) {
        let most = 0;
        for (const i of group) most = Math.max(most, below[i] as number);
        sum += most;
      }
      return sum;
    };
    indexed.forEach((node, i) => {
      let o = node.weight + groupsCost(node.objectGroups);
      let a = node.weight + groupsCost(node.arrayGroups);
      let s = node.weight;
      for (const next of node.inPlace) {
        o += object[next] as number;
        a += array[next] as number;
        s += scalar[next] as number;
      }
      object[i] = o;
      array[i] = a;
      scalar[i] = s;
      here[i] = Math.max(o, a, s);
    });
    if ((here[rootAt] as number) > MAX_PATH_CHECKS) {
      return {
        code: 'TOO_DEEP_RECURSION',
        message: `a reply ${depth} levels deep would be checked against more than ${MAX_PATH_CHECKS} subschemas: its $refs branch as they recurse`,
      };
    }
    if (here.every((value, i) => value === below[i])) break; // no recursion left to unroll
    below = here;
  }
  return null;
}

/** Nodes so that each comes after everything it checks in place (refLoop made that acyclic). */
function inPlaceOrder(graph: Map<string, SchemaNode>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const next of graph.get(id)?.inPlace ?? []) visit(next);
    order.push(id);
  };
  for (const id of graph.keys()) visit(id);
  return order;
}

/**
 * About how many instructions RE2 compiles `pattern` to: one per literal, class or escape, with a
 * counted repetition `x{n,m}` copying its operand max(n, m) times (`(a{100}){100}` is 10,000).
 */
export function patternProgram(pattern: string): number {
  const frames = [{ sum: 0, last: 0 }];
  const top = () => frames[frames.length - 1] as { sum: number; last: number };
  const atom = (size: number) => {
    const frame = top();
    frame.sum += frame.last;
    frame.last = size;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      i++;
      // \p{Greek}, \x{10FFFF}: one escape
      if ((next === 'p' || next === 'P' || next === 'x') && pattern[i + 1] === '{') i = closing(pattern, i + 1, '}');
      atom(1);
    } else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      i = j;
      atom(1);
    } else if (c === '(') {
      frames.push({ sum: 0, last: 0 });
    } else if (c === ')' && frames.length > 1) {
      const group = frames.pop() as { sum: number; last: number };
      atom(group.sum + group.last + 1);
    } else if (c === '|') {
      const frame = top();
      frame.sum += frame.last + 1;
      frame.last = 0;
    } else if (c === '*' || c === '+' || c === '?') {
      top().last += 1;
    } else if (c === '{') {
      const counted = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
      if (!counted) {
        atom(1);
        continue;
      }
      const n = Number(counted[1]);
      const m = counted[3] ? Number(counted[3]) : counted[2] ? n + 1 : n;
      top().last = top().last * Math.max(1, n, m) + 1;
      i += counted[0].length - 1;
    } else atom(1);
  }
  return frames.reduce((sum, frame) => sum + frame.sum + frame.last, 0);
}

const closing = (text: string, from: number, char: string) => {
  const at = text.indexOf(char, from);
  return at === -1 ? text.length : at;
};
