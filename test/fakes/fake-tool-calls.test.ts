import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOllamaFake, startOpenAIFake } from './index.js';

const weather = { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_1' }] };
const parameters = { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] };

describe('fakes answer with tool calls in each API’s wire format, driven by the official SDKs', () => {
  let fake: FakeServer;
  afterEach(() => fake.close());

  it('OpenAI: tool_calls in a body; in a stream, by index with id and name on the first delta only', async () => {
    fake = await startOpenAIFake({ reply: weather });
    const client = new OpenAI({ apiKey: 'k', baseURL: fake.baseURL, maxRetries: 0 });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters } }];
    const messages = [{ role: 'user' as const, content: 'weather?' }];
    const body = await client.chat.completions.create({ model: 'gpt-4o', messages, tools });
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
    });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, tools, stream: true });
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    for await (const chunk of stream) deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
    expect(deltas[0]).toMatchObject({ index: 0, id: 'call_1', function: { name: 'get_weather' } });
    expect(deltas.slice(1).every((d) => d.index === 0 && d.id === undefined)).toBe(true);
    expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe('{"city":"Paris"}');
  });

  it('Anthropic: tool_use blocks in a body; in a stream, content_block_start and input_json_delta', async () => {
    fake = await startAnthropicFake({ reply: weather });
    const client = new Anthropic({ apiKey: 'k', baseURL: fake.baseURL, maxRetries: 0, logLevel: 'off' });
    const request = {
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      tools: [{ name: 'get_weather', input_schema: parameters }],
      messages: [{ role: 'user' as const, content: 'weather?' }],
    };
    const body = await client.messages.create(request);
    expect(body).toMatchObject({
      stop_reason: 'tool_use',
      content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }],
    });
    const final = await client.messages.stream(request).finalMessage();
    expect(final.content).toMatchObject([{ type: 'tool_use', id: 'call_1', input: { city: 'Paris' } }]);
    expect(final.stop_reason).toBe('tool_use');
  });

  it('Anthropic: a stop sequence ends the text with stop_reason stop_sequence', async () => {
    fake = await startAnthropicFake({ reply: 'one two three' });
    const client = new Anthropic({ apiKey: 'k', baseURL: fake.baseURL, maxRetries: 0, logLevel: 'off' });
    const body = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      stop_sequences: [' three'],
      messages: [{ role: 'user', content: 'count' }],
    });
    expect(body).toMatchObject({
      content: [{ text: 'one two' }],
      stop_reason: 'stop_sequence',
      stop_sequence: ' three',
    });
  });

  it('Ollama: whole tool_calls with arguments as an object, in a body and in a stream', async () => {
    fake = await startOllamaFake({ reply: weather });
    const client = new Ollama({ host: fake.baseURL });
    const request = {
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters } }],
    };
    const body = await client.chat(request);
    expect(body.message.tool_calls).toMatchObject([
      { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
    ]);
    const calls = [];
    for await (const part of await client.chat({ ...request, stream: true }))
      calls.push(...(part.message.tool_calls ?? []));
    expect(calls).toMatchObject([{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }]);
  });
});
