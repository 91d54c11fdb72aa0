import type OpenAI from 'openai';
import type { StreamPart } from '../types.js';

type ToolCallDelta = OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall;

/**
 * OpenAI streams a call's id and name once, on its first delta, and later pieces by `index` only.
 * This keeps index -> id and turns the deltas into start / delta parts; `end()` closes the calls.
 */
export function createToolCallDeltas() {
  const ids = new Map<number, string>();
  return {
    *parts(deltas: ToolCallDelta[]): Generator<StreamPart> {
      for (const delta of deltas) {
        let id = ids.get(delta.index);
        if (id === undefined) {
          id = delta.id ?? `call_${delta.index}`;
          ids.set(delta.index, id);
          yield { type: 'tool-call-start', id, name: delta.function?.name ?? '' };
        }
        const piece = delta.function?.arguments;
        if (piece) yield { type: 'tool-call-delta', id, argumentsDelta: piece };
      }
    },
    *end(): Generator<StreamPart> {
      for (const id of ids.values()) yield { type: 'tool-call-end', id };
      ids.clear();
    },
  };
}
