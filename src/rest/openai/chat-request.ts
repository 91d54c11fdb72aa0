import { z } from 'zod';
import type { ChatMessage, ImagePart, ResponseFormat, ToolChoice, ToolDefinition } from '../../providers/types.js';
import { schemaBudgetProblem } from '../../util/json-schema-budget.js';
import { invalidRequest } from './openai-errors.js';

/** Bounds of one request; the body itself is capped at MAX_CHAT_BODY_BYTES before parsing. */
export const MAX_CHAT_BODY_BYTES = 20 * 1024 * 1024;
const MAX_MESSAGES = 2_048;
const MAX_TEXT = 1_000_000;
const MAX_PARTS = 256;
const MAX_TOOLS = 128;
const MAX_SCHEMA_BYTES = 64 * 1024;
const MAX_IMAGE_URL = 2_048;
const MAX_DATA_URL = 14_000_000; // about 10 MiB of image in base64
const MAX_NAME = 256;

const jsonSize = (value: unknown) => JSON.stringify(value ?? null).length;
const schemaObject = z
  .record(z.string(), z.unknown())
  .refine((s) => jsonSize(s) <= MAX_SCHEMA_BYTES, `must be at most ${MAX_SCHEMA_BYTES} bytes of JSON`)
  // Refused here, as on every path a schema comes in by: a stored call compiles it to check the reply.
  .superRefine((s, ctx) => {
    const problem = schemaBudgetProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: `is too costly to check: ${problem.message}` });
  });

const textPart = z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT) });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({
    url: z
      .string()
      .max(MAX_DATA_URL)
      .refine(
        (url) =>
          url.startsWith('data:')
            ? /^data:image\/[\w.+-]+;base64,/.test(url)
            : url.length <= MAX_IMAGE_URL && /^https?:\/\//.test(url),
        `must be an http(s) URL of at most ${MAX_IMAGE_URL} characters or a data:image/...;base64, URL`,
      ),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});
const textContent = z.union([z.string().max(MAX_TEXT), z.array(textPart).max(MAX_PARTS)]);
const toolCall = z.object({
  id: z.string().min(1).max(MAX_NAME),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1).max(MAX_NAME), arguments: z.string().max(MAX_TEXT) }),
});

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content: textContent, name: z.string().max(MAX_NAME).optional() }),
  z.object({
    role: z.literal('user'),
    content: z.union([
      z.string().max(MAX_TEXT),
      z
        .array(z.union([textPart, imagePart]))
        .min(1)
        .max(MAX_PARTS),
    ]),
    name: z.string().max(MAX_NAME).optional(),
  }),
  z.object({
    role: z.literal('assistant'),
    content: textContent.nullish(),
    tool_calls: z.array(toolCall).max(MAX_TOOLS).optional(),
    name: z.string().max(MAX_NAME).optional(),
  }),
  z.object({ role: z.literal('tool'), content: textContent, tool_call_id: z.string().min(1).max(MAX_NAME) }),
]);

const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[\w-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    description: z.string().max(4_096).optional(),
    parameters: schemaObject.optional(),
    strict: z.boolean().nullish(),
  }),
});

const chatRequest = z.object({
  model: z.string().min(1).max(MAX_NAME),
  messages: z.array(message).min(1).max(MAX_MESSAGES),
  tools: z.array(tool).max(MAX_TOOLS).optional(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1).max(MAX_NAME) }) }),
    ])
    .optional(),
  response_format: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object({
          name: z.string().regex(/^[\w-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
          description: z.string().max(4_096).optional(),
          schema: schemaObject.optional(),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  stop: z.union([z.string().min(1).max(MAX_NAME), z.array(z.string().min(1).max(MAX_NAME)).max(4)]).nullish(),
  n: z.number().int().min(1).max(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  // Accepted as OpenAI's clients send it; nothing personal is recorded.
  user: z.string().max(MAX_NAME).optional(),
});

/** A validated request in the gateway's terms, with what the response needs to echo. */
export interface ParsedChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  maxTokens?: number;
  temperature?: number;
  stop?: string[];
  stream: boolean;
  includeUsage: boolean;
}

/** Parses OpenAI's chat request. Throws AppError BAD_USER_INPUT naming the parameter. */
export function parseChatRequest(value: unknown): ParsedChatRequest {
  const parsed = chatRequest.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.join('.') || null;
    if (param === 'n') throw invalidRequest('n greater than 1 is not supported; send one request per choice', 'n');
    throw invalidRequest(`Invalid ${param ?? 'request'}: ${issue?.message ?? 'malformed'}`, param);
  }
  const r = parsed.data;
  const stop = r.stop == null ? undefined : typeof r.stop === 'string' ? [r.stop] : r.stop;
  return {
    model: r.model,
    messages: r.messages.map(toMessage),
    tools: r.tools?.map((t) => ({
      name: t.function.name,
      description: t.function.description,
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
    })),
    toolChoice:
      r.tool_choice === undefined
        ? undefined
        : typeof r.tool_choice === 'string'
          ? r.tool_choice
          : { name: r.tool_choice.function.name },
    responseFormat: toResponseFormat(r.response_format),
    maxTokens: r.max_completion_tokens ?? r.max_tokens ?? undefined,
    temperature: r.temperature ?? undefined,
    stop: stop && stop.length > 0 ? stop : undefined,
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
  };
}

type OpenAIMessage = z.infer<typeof message>;

const joinText = (content: z.infer<typeof textContent> | null | undefined) =>
  content == null ? '' : typeof content === 'string' ? content : content.map((p) => p.text).join('');

function toMessage(m: OpenAIMessage): ChatMessage {
  switch (m.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: joinText(m.content) };
    case 'user': {
      if (typeof m.content === 'string') return { role: 'user', content: m.content };
      const images: ImagePart[] = [];
      let text = '';
      for (const part of m.content) {
        if (part.type === 'text') text += part.text;
        else images.push(toImage(part.image_url.url));
      }
      return images.length > 0 ? { role: 'user', content: text, images } : { role: 'user', content: text };
    }
    case 'assistant': {
      const toolCalls = m.tool_calls?.map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
      const content = joinText(m.content);
      return toolCalls && toolCalls.length > 0
        ? { role: 'assistant', content, toolCalls }
        : { role: 'assistant', content };
    }
    case 'tool':
      return { role: 'tool', content: joinText(m.content), toolCallId: m.tool_call_id };
  }
}

function toImage(url: string): ImagePart {
  const mediaType = /^data:(image\/[\w.+-]+);base64,/.exec(url)?.[1];
  return mediaType ? { url, mediaType } : { url };
}

function toResponseFormat(format: z.infer<typeof chatRequest>['response_format']): ResponseFormat | undefined {
  if (!format) return undefined;
  if (format.type === 'text') return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json-object' };
  const { name, schema, strict } = format.json_schema;
  return { type: 'json-schema', name, schema: schema ?? {}, ...(strict == null ? {} : { strict }) };
}
