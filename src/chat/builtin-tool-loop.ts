import type { RoutedChatRequest, RoutedStreamPart } from '../providers/router/index.js';
import type { ChatMessage, StreamPart, TokenUsage, ToolCall } from '../providers/types.js';
import type { BuiltinToolRunner } from './builtin-tools.js';
import type { StoredToolCall, StoredToolResult } from './chat-history.js';

/** Model calls in one turn at most: the last one may not call tools, so it must answer. */
export const MAX_TOOL_STEPS = 4;
/** Builtin calls run per step at most; more are answered with an error text. */
const MAX_CALLS_PER_STEP = 4;

type Finish = Extract<StreamPart, { type: 'finish' }>;

const plus = (a: TokenUsage, b: Partial<TokenUsage> | undefined): TokenUsage => ({
  promptTokens: a.promptTokens + (b?.promptTokens ?? 0),
  completionTokens: a.completionTokens + (b?.completionTokens ?? 0),
});

/**
 * A step that asked for builtin and client tools at once: every call the model made (builtin ones
 * marked), and the builtin ones' results, run already. The message that asks the client keeps
 * both, so that once the client answers, every call of the step has its result.
 */
export interface MixedStep {
  calls: StoredToolCall[];
  results: StoredToolResult[];
}

/**
 * One turn's stream with the gateway's own tools run in between: when a step ends asking only
 * for builtin tools, they run here, their results join the messages, and the model is called
 * again (at most MAX_TOOL_STEPS calls; the last with tool choice `none`). Text streams through
 * as it comes; tool-call parts are held until the step's end says whose calls they are, and
 * only a step that asks the client for tools lets them out: its builtin calls are run too, and
 * only the client's calls go out (`mixed` receives the whole step). Usage is the sum of every step.
 */
export async function* withBuiltinTools(
  stream: (request: RoutedChatRequest) => AsyncIterable<RoutedStreamPart>,
  request: RoutedChatRequest,
  runner: BuiltinToolRunner | undefined,
  mixed?: (step: MixedStep) => void,
): AsyncGenerator<RoutedStreamPart> {
  if (!runner) {
    yield* stream(request);
    return;
  }
  let messages = request.messages;
  let used: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  for (let step = 1; step <= MAX_TOOL_STEPS; step++) {
    const last = step === MAX_TOOL_STEPS;
    const held: StreamPart[] = [];
    const calls = new Map<string, ToolCall>();
    let text = '';
    let finish: Finish | undefined;
    for await (const part of stream({ ...request, messages, ...(last ? { toolChoice: 'none' as const } : {}) })) {
      if (part.type === 'tool-call-start') calls.set(part.id, { id: part.id, name: part.name, arguments: '' });
      if (part.type === 'tool-call-delta') {
        const call = calls.get(part.id);
        if (call) call.arguments += part.argumentsDelta;
      }
      if (part.type.startsWith('tool-call-')) held.push(part as StreamPart);
      else if (part.type === 'finish') finish = part;
      else if (part.type === 'error') {
        yield { ...part, usage: plus(used, part.usage) };
        return;
      } else {
        if (part.type === 'text-delta') text += part.text;
        yield part;
      }
    }
    if (!finish) return;
    used = plus(used, finish.usage);
    const asked = [...calls.values()];
    const builtin = asked.filter((call) => runner.owns(call.name));
    const builtinOnly = asked.length > 0 && builtin.length === asked.length;
    if (builtinOnly && !last) {
      messages = [
        ...messages,
        { role: 'assistant', content: text, toolCalls: asked },
        ...(await runAll(runner, asked)),
      ];
      continue;
    }
    if (builtinOnly) {
      // Out of steps, builtin calls are dropped: the client could not answer them.
      yield { ...finish, usage: used };
      return;
    }
    if (builtin.length > 0) {
      // The client answers its own calls; the gateway's are answered here and kept with them.
      const results = await runAll(runner, builtin);
      mixed?.({
        calls: asked.map((call) => (runner.owns(call.name) ? { ...call, builtin: true } : call)),
        results: results.map((r) => ({ toolCallId: r.toolCallId as string, content: r.content })),
      });
    }
    const theirs = new Set(asked.filter((call) => !runner.owns(call.name)).map((call) => call.id));
    yield* held.filter((part) => 'id' in part && theirs.has(part.id));
    yield { ...finish, usage: used };
    return;
  }
}

/** Each call's output as a `tool` message, in order (past MAX_CALLS_PER_STEP, an error text). */
async function runAll(runner: BuiltinToolRunner, calls: readonly ToolCall[]): Promise<ChatMessage[]> {
  const results: ChatMessage[] = [];
  for (const [i, call] of calls.entries()) {
    const content =
      i < MAX_CALLS_PER_STEP ? await runner.run(call) : `Error: at most ${MAX_CALLS_PER_STEP} calls per step`;
    results.push({ role: 'tool', toolCallId: call.id, content });
  }
  return results;
}
