/**
 * Which model a REST call names: one the gateway cannot route, or could only answer by standing
 * its default model in (a bare id that would need an Ollama that is not here), is each API's 404,
 * through the official clients, and nothing is sent upstream. A known model still answers.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startAnthropicFake, startOpenAIFake } from '../fakes/index.js';
import { fakeProviderEnv } from '../helpers/fake-provider-env.js';
import { LIMITS_BACKENDS, type LimitsCluster, type Member, startLimitsCluster } from '../helpers/limits-cluster.js';

const EMBEDDED = LIMITS_BACKENDS.find((b) => !b.shared) as (typeof LIMITS_BACKENDS)[number];

let openai: FakeServer;
let anthropic: FakeServer;
let cluster: LimitsCluster;
let member: Member;

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
  // No OLLAMA_HOST: Ollama is only looked for, so a bare unknown id has no provider of its own.
  cluster = await startLimitsCluster(EMBEDDED, {
    env: fakeProviderEnv({ openai, anthropic }),
  });
  member = await cluster.member('rest-models');
});
afterAll(async () => {
  await cluster?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

const openaiClient = () =>
  new OpenAI({ apiKey: member.secret, baseURL: `${cluster.pick(0).origin}/v1`, maxRetries: 0 });
const anthropicClient = () => new Anthropic({ apiKey: member.secret, baseURL: cluster.pick(0).origin, maxRetries: 0 });
const upstreamCalls = () => openai.requests.length + anthropic.requests.length;

describe('an unknown model over REST', () => {
  it('is OpenAI’s 404 model_not_found on /v1/chat/completions, streamed or not, with nothing sent upstream', async () => {
    const before = upstreamCalls();
    for (const stream of [false, true]) {
      const error = await openaiClient()
        .chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream })
        .catch((e: unknown) => e);
      expect(error, `stream: ${stream}`).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
      // Says why, as GraphQL does: here no Ollama answers to serve a bare id.
      expect((error as Error).message).toMatch(/`no-such-model` does not exist .*no Ollama server answers/);
    }
    expect(upstreamCalls()).toBe(before);
  });

  it('is OpenAI’s 404 model_not_found on /v1/embeddings', async () => {
    const before = upstreamCalls();
    const error = await openaiClient()
      .embeddings.create({ model: 'no-such-embedder', input: 'hello' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(upstreamCalls()).toBe(before);
  });

  it('is Anthropic’s 404 not_found_error on /v1/messages, streamed or not', async () => {
    const before = upstreamCalls();
    for (const stream of [false, true]) {
      const error = await anthropicClient()
        .messages.create({
          model: 'no-such-model',
          max_tokens: 20,
          messages: [{ role: 'user', content: 'hi' }],
          stream,
        })
        .catch((e: unknown) => e);
      expect(error, `stream: ${stream}`).toBeInstanceOf(Anthropic.NotFoundError);
      expect((error as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
        type: 'error',
        error: { type: 'not_found_error', message: expect.stringMatching(/no Ollama server answers/) },
      });
    }
    expect(upstreamCalls()).toBe(before);
  });

  it('is each API’s 404 on a stored call too (x-switchyard-conversation: new), storing nothing', async () => {
    const headers = { 'x-switchyard-conversation': 'new' };
    const before = upstreamCalls();
    const conversations = await cluster.db.conversation.count();
    const error = await openaiClient()
      .chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }, { headers })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found' });
    const refused = await anthropicClient()
      .messages.create(
        { model: 'no-such-model', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
        { headers },
      )
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.NotFoundError);
    expect(upstreamCalls()).toBe(before);
    expect(await cluster.db.conversation.count()).toBe(conversations);
  });

  it('is a 404 too for a model whose provider is not configured here', async () => {
    const error = await openaiClient()
      .chat.completions.create({ model: 'ollama/llama3.2', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as Error).message).toMatch(/Provider "ollama" is not configured/);
  });

  it('a /v1 path no API serves is a 404 in OpenAI’s shape, for the SDK and for a bare GET', async () => {
    await expect(openaiClient().files.list()).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const response = await fetch(`${cluster.pick(0).origin}/v1/foo`, {
      headers: { authorization: `Bearer ${member.secret}` },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: 'No route GET /v1/foo' },
    });
  });

  it('leaves known models answering', async () => {
    const reply = await openaiClient().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(reply.model).toBe('gpt-4o-mini');
    const message = await anthropicClient().messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(message.model).toBe('claude-haiku-4-5');
  });
});

describe('a JSON value nested too deep to serialize', () => {
  /** `{"type":"object","x":[[[...]]]}` 30,000 levels deep: within the size limits, past JSON.stringify's stack (the body's nesting bound refuses it). */
  const deepSchema = `{"type":"object","x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
  const send = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${cluster.pick(0).origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${member.secret}`, ...headers },
      body,
    });

  it('is a 400 invalid_request_error as an OpenAI response_format schema or tool parameters, not a 500', async () => {
    const messages = '[{"role":"user","content":"hi"}]';
    for (const extra of [
      `"response_format":{"type":"json_schema","json_schema":{"name":"deep","schema":${deepSchema}}}`,
      `"tools":[{"type":"function","function":{"name":"deep","parameters":${deepSchema}}}]`,
    ]) {
      const response = await send('/v1/chat/completions', `{"model":"gpt-4o-mini","messages":${messages},${extra}}`);
      expect(response.status, extra.slice(0, 30)).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
  });

  it('is a 400 invalid_request_error as an Anthropic tool input_schema or tool_use input', async () => {
    const tools = `"tools":[{"name":"deep","input_schema":${deepSchema}}],"messages":[{"role":"user","content":"hi"}]`;
    const toolUse = `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"deep","input":${deepSchema}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]`;
    for (const extra of [tools, toolUse]) {
      const response = await send('/v1/messages', `{"model":"claude-haiku-4-5","max_tokens":10,${extra}}`, {
        'anthropic-version': '2023-06-01',
      });
      expect(response.status, extra.slice(0, 30)).toBe(400);
      expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
  });
});
