import { z } from 'zod';
import { schemaBudgetProblem } from '../../util/json-schema-budget.js';

/**
 * Bounds of a Messages request (every field has one). Text sizes come from the chat settings so
 * that REST and GraphQL agree; the rest follow Anthropic's own API where it has a limit.
 */
export interface AnthropicLimits {
  maxBodyBytes: number;
  maxContentChars: number;
  maxSystemChars: number;
}

export const MAX_MESSAGES = 1_000;
export const MAX_BLOCKS_PER_MESSAGE = 100;
export const MAX_IMAGES = 20;
/** Anthropic takes images up to 5 MB; as base64 that is 4/3 as many characters. */
export const MAX_IMAGE_BASE64_CHARS = Math.ceil((5 * 1024 * 1024 * 4) / 3);
export const MAX_IMAGE_URL_CHARS = 2_048;
export const MAX_TOOLS = 128;
export const MAX_TOOL_SCHEMA_CHARS = 16 * 1024;
export const MAX_TOOL_DESCRIPTION_CHARS = 10_000;
/** The contract's stop sequences: at most four (OpenAI's limit, so any provider can take them). */
export const MAX_STOP_SEQUENCES = 4;
export const MAX_STOP_SEQUENCE_CHARS = 256;
export const MAX_ID_CHARS = 256;
export const MAX_OUTPUT_TOKENS = 1_000_000;

const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');
const id = z.string().min(1).max(MAX_ID_CHARS);

function schemaOf(limits: AnthropicLimits) {
  const text = z.string().max(limits.maxContentChars);
  const textBlock = z.object({ type: z.literal('text'), text });
  const imageSource = z.discriminatedUnion('type', [
    z.object({
      type: z.literal('base64'),
      media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']),
      data: z
        .string()
        .min(1)
        .max(MAX_IMAGE_BASE64_CHARS, `an image may be at most 5 MB (${MAX_IMAGE_BASE64_CHARS} base64 characters)`)
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64'),
    }),
    z.object({
      type: z.literal('url'),
      url: z.url({ protocol: /^https$/ }).max(MAX_IMAGE_URL_CHARS),
    }),
  ]);
  const imageBlock = z.object({ type: z.literal('image'), source: imageSource });
  const toolUseBlock = z.object({
    type: z.literal('tool_use'),
    id,
    name: toolName,
    input: z.record(z.string(), z.unknown()),
  });
  const toolResultBlock = z.object({
    type: z.literal('tool_result'),
    tool_use_id: id,
    content: z.union([text, z.array(textBlock).max(MAX_BLOCKS_PER_MESSAGE)]).optional(),
    is_error: z.boolean().optional(),
  });
  const block = z.discriminatedUnion('type', [textBlock, imageBlock, toolUseBlock, toolResultBlock]);
  const message = z.object({
    role: z.enum(['user', 'assistant']),
    content: z.union([text, z.array(block).max(MAX_BLOCKS_PER_MESSAGE)]),
  });
  const tool = z.object({
    type: z.literal('custom', { error: 'only custom tools (with input_schema) are supported' }).optional(),
    name: toolName,
    description: z.string().max(MAX_TOOL_DESCRIPTION_CHARS).optional(),
    input_schema: z
      .looseObject({ type: z.literal('object') })
      .refine((schema) => JSON.stringify(schema).length <= MAX_TOOL_SCHEMA_CHARS, {
        message: `may be at most ${MAX_TOOL_SCHEMA_CHARS} characters as JSON`,
      })
      // Refused here, as on every path a schema comes in by: a stored call compiles it.
      .superRefine((schema, ctx) => {
        const problem = schemaBudgetProblem(schema);
        if (problem) ctx.addIssue({ code: 'custom', message: `is too costly to check: ${problem.message}` });
      }),
  });
  const toolChoice = z.discriminatedUnion('type', [
    z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('tool'), name: toolName, disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('none') }),
  ]);
  const counted = z.object({
    model: z.string().min(1).max(MAX_ID_CHARS),
    system: z
      .union([
        z.string().max(limits.maxSystemChars),
        z
          .array(z.object({ type: z.literal('text'), text: z.string().max(limits.maxSystemChars) }))
          .max(MAX_BLOCKS_PER_MESSAGE),
      ])
      .optional(),
    messages: z.array(message).min(1).max(MAX_MESSAGES),
    tools: z.array(tool).max(MAX_TOOLS).optional(),
    tool_choice: toolChoice.optional(),
  });
  const create = counted.extend({
    max_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS),
    stop_sequences: z.array(z.string().min(1).max(MAX_STOP_SEQUENCE_CHARS)).max(MAX_STOP_SEQUENCES).optional(),
    temperature: z.number().min(0).max(1).optional(),
    stream: z.boolean().optional(),
    metadata: z.object({ user_id: z.string().max(MAX_ID_CHARS).nullish() }).optional(),
  });
  return { counted, create };
}

export type AnthropicSchemas = ReturnType<typeof schemaOf>;
/** A `POST /v1/messages` body, checked. Fields the gateway does not use (top_k, ...) are dropped. */
export type MessagesBody = z.infer<AnthropicSchemas['create']>;
/** A `POST /v1/messages/count_tokens` body, checked. */
export type CountTokensBody = z.infer<AnthropicSchemas['counted']>;
export type MessageParam = MessagesBody['messages'][number];

export const anthropicSchemas = schemaOf;

/** Checks a body; the failure is one line naming the first bad field as Anthropic does (`messages.0.content: ...`). */
export function parseBody<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; message: string } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, message: `${where}${issue?.message ?? 'invalid request'}` };
}
