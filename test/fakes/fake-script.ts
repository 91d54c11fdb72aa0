/** A tool call as a fake reads it from a request, whatever the provider's wire shape. */
export interface FakeToolCallIn {
  id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
}

/**
 * One message as every fake sees it. A tool result is `{ role: 'tool', toolCallId }` with its
 * output as `content` (Anthropic's tool_result blocks are split out of their user turn).
 */
export interface FakeChatMessage {
  role: string;
  content: string;
  /** Image references as sent: URLs (OpenAI), `base64:<media type>` or `url:<url>` (Anthropic), base64 (Ollama). */
  images?: string[];
  toolCalls?: FakeToolCallIn[];
  toolCallId?: string;
}

/** A chat request as every fake sees it once it has parsed its own wire format. */
export interface FakeChatInput {
  model: string;
  /** System prompts included, as `{ role: 'system' }`, in order. */
  messages: FakeChatMessage[];
  maxTokens?: number;
  /** Names of the tools offered. */
  tools?: string[];
  /** Sequences that end the reply, as the real APIs honour them. */
  stop?: string[];
}

/** A tool call a script answers with; `arguments` as an object is sent as its JSON. */
export interface FakeToolCall {
  name: string;
  arguments: string | Record<string, unknown>;
  /** Default: made up by the fake in its provider's id style. */
  id?: string;
}

/** Text (split into tokens), exact tokens, or tool calls (with optional text before them). */
export type FakeReply = string | string[] | { toolCalls: FakeToolCall[]; text?: string };

/**
 * What the fake answers: a fixed reply or a function of the request.
 * Without a script the reply is `echo: <last user message>`.
 */
export type ReplyScript = FakeReply | ((input: FakeChatInput) => FakeReply);

/**
 * How many of a request's prompt tokens the fake reports as read from (`read`) or written to
 * (`write`) the provider's prompt cache; each fake renders them in its API's own fields. Capped
 * at the prompt. Without one, nothing is cached.
 */
export type PromptCacheScript =
  | { read?: number; write?: number }
  | ((input: FakeChatInput) => { read?: number; write?: number });

/** A planned tool call: `arguments` as JSON text, `id` possibly unset (the fake makes one). */
export interface PlannedToolCall {
  id: string | undefined;
  name: string;
  arguments: string;
}

export interface ReplyPlan {
  tokens: string[];
  text: string;
  /** Calls the reply makes after its text; empty for a text reply. */
  toolCalls: PlannedToolCall[];
  /** The stop sequence that ended the reply, when one did. */
  stopSequence: string | undefined;
  /** The whole prompt, cached parts included. */
  promptTokens: number;
  /** Of promptTokens, read from the prompt cache. */
  cachedPromptTokens: number;
  /** Of promptTokens, written to the prompt cache. */
  cacheWritePromptTokens: number;
  completionTokens: number;
  /** True when `maxTokens` cut the reply short (finish reason `length`). */
  truncated: boolean;
}

/** Splits text into word tokens that keep their leading whitespace, so `tokens.join('')` is the text. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** The fakes' deterministic token count: one per word. */
export function countTokens(text: string): number {
  return tokenize(text).length;
}

export function lastUserText(messages: FakeChatInput['messages']): string {
  return messages.findLast((m) => m.role === 'user')?.content ?? '';
}

/** Decides the reply tokens and usage for one request; tests can call it to compute expected values. */
export function planReply(input: FakeChatInput, script?: ReplyScript, cache?: PromptCacheScript): ReplyPlan {
  const scripted = typeof script === 'function' ? script(input) : script;
  const calls = typeof scripted === 'object' && !Array.isArray(scripted) ? scripted : undefined;
  const reply: string | string[] | undefined = calls ? (calls.text ?? []) : (scripted as string | string[] | undefined);
  const stopped = cutAtStop(
    reply === undefined
      ? tokenize(`echo: ${lastUserText(input.messages)}`)
      : typeof reply === 'string'
        ? tokenize(reply)
        : reply,
    input.stop,
  );
  const all = stopped.tokens;
  const limit = input.maxTokens ?? Number.POSITIVE_INFINITY;
  const tokens = all.slice(0, limit);
  const toolCalls = (calls?.toolCalls ?? []).map((call) => ({
    id: call.id,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  const promptTokens = input.messages.reduce((sum, m) => sum + countTokens(m.content), 0);
  const cached = (typeof cache === 'function' ? cache(input) : cache) ?? {};
  const cachedPromptTokens = Math.min(Math.max(cached.read ?? 0, 0), promptTokens);
  const cacheWritePromptTokens = Math.min(Math.max(cached.write ?? 0, 0), promptTokens - cachedPromptTokens);
  return {
    tokens,
    text: tokens.join(''),
    toolCalls: tokens.length < all.length ? [] : toolCalls,
    stopSequence: stopped.sequence,
    promptTokens,
    cachedPromptTokens,
    cacheWritePromptTokens,
    completionTokens: tokens.length + toolCalls.reduce((sum, call) => sum + countTokens(call.arguments), 0),
    truncated: all.length > tokens.length,
  };
}

/** Cuts the reply before the earliest stop sequence, as the real APIs do. */
function cutAtStop(tokens: string[], stop: string[] | undefined): { tokens: string[]; sequence: string | undefined } {
  const text = tokens.join('');
  let at = -1;
  let sequence: string | undefined;
  for (const candidate of stop ?? []) {
    const index = candidate ? text.indexOf(candidate) : -1;
    if (index >= 0 && (at < 0 || index < at)) [at, sequence] = [index, candidate];
  }
  return at < 0 ? { tokens, sequence: undefined } : { tokens: tokenize(text.slice(0, at)), sequence };
}

/** Text of a message whose content is a string or an array of `{ type: 'text', text }` parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string' ? part.text : '',
    )
    .join('');
}

/** Messages from a parsed body's `messages` field: role and text only (each fake adds what its wire carries). */
export function readMessages(value: unknown): FakeChatMessage[] {
  return asRecords(value).map((record) => ({ role: String(record.role ?? ''), content: contentText(record.content) }));
}

/** The objects of an array field (anything else is an empty list), so readers need no casts. */
export function asRecords(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) return [];
  return value.map(
    (item: unknown) => (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>,
  );
}

/** Strings of an array field, or undefined when it is absent. */
export function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.map(String) : undefined;
}
