// Child process: an OpenAI-style streaming upstream whose every token is the monotonic time at
// which it was written (` s12345.678`), for the stall-free streams benchmark (bench/rest-stall.ts).
// The client compares each stamp with the arrival of the delta that carries it, so lateness in
// this process (its own timers drifting under load) is never charged to a gateway.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** Same clock as the load generator's `monoMs` (CLOCK_MONOTONIC is shared by every process). */
const monoMs = () => Number(process.hrtime.bigint() / 1_000n) / 1_000;

/** Tokens per reply and ms between them (the first token is written at once); set over IPC. */
let pacing = { tokens: 64, gapMs: 20 };
/** When each tagged request arrived (the first word of its last user message), since last asked. */
let arrivals: Record<string, number> = {};
const MAX_BODY = 64 * 1024;

export type StampedCommand =
  | { type: 'pace'; id: number; tokens: number; gapMs: number }
  | { type: 'arrivals'; id: number };

const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

function stream(res: ServerResponse, model: string, withUsage: boolean): void {
  const { tokens, gapMs } = pacing;
  const head = { id: `chatcmpl-${randomUUID().slice(0, 8)}`, object: 'chat.completion.chunk', created: 0, model };
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    frame({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(chunk({ role: 'assistant', content: '' }, null));
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => clearTimeout(timer));
  const next = () => {
    if (res.destroyed) return;
    res.write(chunk({ content: ` s${monoMs().toFixed(3)}` }, null));
    sent++;
    if (sent < tokens) {
      timer = setTimeout(next, gapMs);
      return;
    }
    res.write(chunk({}, 'stop'));
    if (withUsage) {
      const usage = { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens };
      res.write(frame({ ...head, choices: [], usage }));
    }
    res.end('data: [DONE]\n\n');
  };
  next();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (part: string) => {
    body += part;
    if (body.length > MAX_BODY) req.destroy();
  });
  req.on('end', () => {
    const at = monoMs();
    const parsed = JSON.parse(body) as {
      model?: string;
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
      messages?: { role: string; content: unknown }[];
    };
    const prompt = parsed.messages?.findLast((m) => m.role === 'user')?.content;
    const tag = typeof prompt === 'string' ? prompt.split(' ', 1)[0] : undefined;
    if (tag && Object.keys(arrivals).length < 20_000) arrivals[tag] = at;
    if (parsed.stream !== true) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"stream only"}}');
      return;
    }
    stream(res, parsed.model ?? 'gpt-4o-mini', parsed.stream_options?.include_usage === true);
  });
}

process.on('message', (message: StampedCommand) => {
  if (message.type === 'pace') pacing = { tokens: message.tokens, gapMs: message.gapMs };
  process.send?.({ type: 'done', id: message.id, ...(message.type === 'arrivals' ? { arrivals } : {}) });
  if (message.type === 'arrivals') arrivals = {};
});

const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, handle);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}` });
});
