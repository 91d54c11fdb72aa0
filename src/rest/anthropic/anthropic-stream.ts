import type { ServerResponse } from 'node:http';
import type { RoutedStreamPart } from '../../providers/router/index.js';
import { anthropicErrorOf, errorBody } from './anthropic-errors.js';
import { anthropicUsage, mapStopReason } from './anthropic-message.js';

export interface StreamInfo {
  id: string;
  model: string;
  /** The gateway's count: `message_start` needs it before the provider reports its own (in `message_delta`). */
  promptTokens: number;
  stopSequences: readonly string[] | undefined;
  headers: Record<string, string>;
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
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...info.headers,
  });
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
  if (!(await send(response, frame('message_start', JSON.stringify(start))))) return;
  if (!(await send(response, PING))) return;

  let blocks = 0;
  let textBlock: number | null = null;
  const toolBlocks = new Map<string, number>();
  let calledTools = false;
  const stop = (index: number) => frame('content_block_stop', `{"type":"content_block_stop","index":${index}}`);

  for (;;) {
    const next = await parts.next();
    if (next.done) return;
    const part = next.value;
    let out = '';
    switch (part.type) {
      case 'text-delta':
        if (part.text === '') continue;
        if (textBlock === null) {
          textBlock = blocks++;
          out += frame(
            'content_block_start',
            `{"type":"content_block_start","index":${textBlock},"content_block":{"type":"text","text":""}}`,
          );
        }
        out += frame(
          'content_block_delta',
          `{"type":"content_block_delta","index":${textBlock},"delta":{"type":"text_delta","text":${JSON.stringify(part.text)}}}`,
        );
        break;
      case 'tool-call-start': {
        // Text that came before a tool call is finished: Anthropic's blocks follow one another.
        if (textBlock !== null) out += stop(textBlock);
        textBlock = null;
        const index = blocks++;
        toolBlocks.set(part.id, index);
        calledTools = true;
        const block = { type: 'tool_use', id: part.id, name: part.name, input: {} };
        out += frame(
          'content_block_start',
          `{"type":"content_block_start","index":${index},"content_block":${JSON.stringify(block)}}`,
        );
        break;
      }
      case 'tool-call-delta': {
        const index = toolBlocks.get(part.id);
        if (index === undefined || part.argumentsDelta === '') continue;
        out += frame(
          'content_block_delta',
          `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(part.argumentsDelta)}}}`,
        );
        break;
      }
      case 'tool-call-end': {
        const index = toolBlocks.get(part.id);
        if (index === undefined) continue;
        toolBlocks.delete(part.id);
        out += stop(index);
        break;
      }
      case 'finish': {
        if (textBlock !== null) out += stop(textBlock);
        for (const index of toolBlocks.values()) out += stop(index);
        const delta = {
          type: 'message_delta',
          delta: mapStopReason(part.finishReason, calledTools, info.stopSequences),
          usage: anthropicUsage(part.usage),
        };
        out += frame('message_delta', JSON.stringify(delta));
        out += frame('message_stop', '{"type":"message_stop"}');
        response.end(out);
        return;
      }
      case 'error': {
        if (part.error.code === 'CANCELLED' || response.destroyed) {
          response.end();
          return;
        }
        const shaped = anthropicErrorOf(part.error);
        const data = errorBody(shaped?.type ?? 'api_error', shaped?.message ?? 'The upstream call failed');
        response.end(frame('error', data));
        return;
      }
      default:
        continue;
    }
    if (!(await send(response, out))) return;
  }
}

const frame = (event: string, data: string) => `event: ${event}\ndata: ${data}\n\n`;
const PING = frame('ping', '{"type":"ping"}');

/** Writes, waiting out backpressure; false once the client is gone. */
async function send(response: ServerResponse, chunk: string): Promise<boolean> {
  if (response.destroyed) return false;
  if (response.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
  return !response.destroyed;
}
