import type { ServerResponse } from 'node:http';
import type { AppError } from '../../errors.js';
import type { RoutedStreamPart } from '../../providers/router/index.js';
import { createSseWriter } from '../sse-writer.js';
import { anthropicErrorOf, errorBody } from './anthropic-errors.js';
import { anthropicUsage, mapStopReason } from './anthropic-message.js';

export interface StreamInfo {
  id: string;
  model: string;
  /** The gateway's count: `message_start` needs it before the provider reports its own (in `message_delta`). */
  promptTokens: number;
  stopSequences: readonly string[] | undefined;
  headers: Record<string, string>;
  /** What stopped the call when its credential did (see callSignal): the error event to send. */
  revoked?: () => AppError | undefined;
}

/**
 * Writes a reply as Anthropic's event stream: `message_start`, a `content_block_start` /
 * `_delta` / `_stop` run per text or tool_use block, `message_delta` with the stop reason and
 * usage, `message_stop`. A failure after the start is an `error` event. `parts` is what follows
 * the router's `start`. Resolves when the response ended or the client went away.
 */
export async function writeMessageStream(
  response: ServerResponse,
  parts: AsyncIterator<RoutedStreamPart>,
  info: StreamInfo,
): Promise<void> {
  const sse = createSseWriter(response, info.headers);
  /** Sends frames in order; false once the client is gone. */
  const send = async (frames: [event: string, data: string][]) => {
    for (const [event, data] of frames) await sse.send(data, event);
    return !response.destroyed;
  };
  const start = {
    type: 'message_start',
    message: {
      id: info.id,
      type: 'message',
      role: 'assistant',
      model: info.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: info.promptTokens, output_tokens: 0 },
    },
  };
  if (!(await send([['message_start', JSON.stringify(start)], PING]))) return;

  let blocks = 0;
  let textBlock: number | null = null;
  const toolBlocks = new Map<string, number>();
  let calledTools = false;
  const stop = (index: number): [string, string] => [
    'content_block_stop',
    `{"type":"content_block_stop","index":${index}}`,
  ];

  for (;;) {
    const next = await parts.next();
    if (next.done) return;
    const part = next.value;
    const out: [string, string][] = [];
    switch (part.type) {
      case 'text-delta':
        if (part.text === '') continue;
        if (textBlock === null) {
          textBlock = blocks++;
          out.push([
            'content_block_start',
            `{"type":"content_block_start","index":${textBlock},"content_block":{"type":"text","text":""}}`,
          ]);
        }
        out.push([
          'content_block_delta',
          `{"type":"content_block_delta","index":${textBlock},"delta":{"type":"text_delta","text":${JSON.stringify(part.text)}}}`,
        ]);
        break;
      case 'tool-call-start': {
        // Text that came before a tool call is finished: Anthropic's blocks follow one another.
        if (textBlock !== null) out.push(stop(textBlock));
        textBlock = null;
        const index = blocks++;
        toolBlocks.set(part.id, index);
        calledTools = true;
        const block = { type: 'tool_use', id: part.id, name: part.name, input: {} };
        out.push([
          'content_block_start',
          `{"type":"content_block_start","index":${index},"content_block":${JSON.stringify(block)}}`,
        ]);
        break;
      }
      case 'tool-call-delta': {
        const index = toolBlocks.get(part.id);
        if (index === undefined || part.argumentsDelta === '') continue;
        out.push([
          'content_block_delta',
          `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(part.argumentsDelta)}}}`,
        ]);
        break;
      }
      case 'tool-call-end': {
        const index = toolBlocks.get(part.id);
        if (index === undefined) continue;
        toolBlocks.delete(part.id);
        out.push(stop(index));
        break;
      }
      case 'finish': {
        if (textBlock !== null) out.push(stop(textBlock));
        for (const index of toolBlocks.values()) out.push(stop(index));
        const delta = {
          type: 'message_delta',
          delta: mapStopReason(part.finishReason, calledTools, info.stopSequences),
          usage: anthropicUsage(part.usage),
        };
        out.push(['message_delta', JSON.stringify(delta)]);
        out.push(['message_stop', '{"type":"message_stop"}']);
        await send(out);
        sse.end();
        return;
      }
      case 'error': {
        const error = info.revoked?.() ?? part.error;
        if (error.code === 'CANCELLED' || response.destroyed) {
          sse.end();
          return;
        }
        const shaped = anthropicErrorOf(error);
        const data = errorBody(shaped?.type ?? 'api_error', shaped?.message ?? 'The upstream call failed');
        await send([['error', data]]);
        sse.end();
        return;
      }
      default:
        continue;
    }
    if (!(await send(out))) return;
  }
}

const PING: [string, string] = ['ping', '{"type":"ping"}'];
