/** A chat request as every fake sees it once it has parsed its own wire format. */
export interface FakeChatInput {
  model: string;
  /** System prompts included, as `{ role: 'system' }`, in order. */
  messages: { role: string; content: string }[];
  maxTokens?: number;
}

/**
 * What the fake answers: a fixed text (split into tokens), exact tokens, or a function of the request.
 * Without a script the reply is `echo: <last user message>`.
 */
export type ReplyScript = string | string[] | ((input: FakeChatInput) => string | string[]);

/**
 * How many of a request's prompt tokens the fake reports as read from (`read`) or written to
 * (`write`) the provider's prompt cache; each fake renders them in its API's own fields. Capped
 * at the prompt. Without one, nothing is cached.
 */
export type PromptCacheScript =
  | { read?: number; write?: number }
  | ((input: FakeChatInput) => { read?: number; write?: number });

export interface ReplyPlan {
  tokens: string[];
  text: string;
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
  const all =
    scripted === undefined
      ? tokenize(`echo: ${lastUserText(input.messages)}`)
      : typeof scripted === 'string'
        ? tokenize(scripted)
        : scripted;
  const limit = input.maxTokens ?? Number.POSITIVE_INFINITY;
  const tokens = all.slice(0, limit);
  const promptTokens = input.messages.reduce((sum, m) => sum + countTokens(m.content), 0);
  const cached = (typeof cache === 'function' ? cache(input) : cache) ?? {};
  const cachedPromptTokens = Math.min(Math.max(cached.read ?? 0, 0), promptTokens);
  const cacheWritePromptTokens = Math.min(Math.max(cached.write ?? 0, 0), promptTokens - cachedPromptTokens);
  return {
    tokens,
    text: tokens.join(''),
    promptTokens,
    cachedPromptTokens,
    cacheWritePromptTokens,
    completionTokens: tokens.length,
    truncated: all.length > tokens.length,
  };
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

/** Messages from a parsed body's `messages` field, whatever the provider's content shape. */
export function readMessages(value: unknown): FakeChatInput['messages'] {
  if (!Array.isArray(value)) return [];
  return value.map((m: unknown) => {
    const record = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    return { role: String(record.role ?? ''), content: contentText(record.content) };
  });
}
