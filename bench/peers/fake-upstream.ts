// Child process: the OpenAI fake from test/fakes, on 127.0.0.1, steered by the benchmark over IPC.
// Its own process so that neither the load generator nor a gateway shares its event loop.
import { type FakeChatInput, type FaultSpec, startOpenAIFake } from '../../test/fakes/index.js';

export type FakeCommand =
  | { type: 'fault'; id: number; spec: FaultSpec }
  | { type: 'clear'; id: number }
  /** Drops every open connection (ending held-open streams), then listens again on the same port. */
  | { type: 'restart'; id: number }
  /** Answers with, and forgets, when each tagged request reached the fake (monotonic ms). */
  | { type: 'arrivals'; id: number };

/** Same clock as the load generator's `monoMs` (CLOCK_MONOTONIC is shared by every process). */
const monoMs = () => Number(process.hrtime.bigint() / 1_000n) / 1_000;
let arrivals: Record<string, number> = {};

/** The fake's default reply (`echo: <prompt>`), noting when the request arrived, by its prompt's first word. */
function echo(input: FakeChatInput): string {
  const prompt = input.messages.findLast((m) => m.role === 'user')?.content ?? '';
  const tag = prompt.split(' ', 1)[0] ?? '';
  if (Object.keys(arrivals).length < 20_000) arrivals[tag] = monoMs();
  return `echo: ${prompt}`;
}

const fake = await startOpenAIFake({ reply: echo });
const path = '/v1/chat/completions';

process.on('message', (message: FakeCommand) => {
  const done = (extra: Record<string, unknown> = {}) => process.send?.({ type: 'done', id: message.id, ...extra });
  if (message.type === 'fault') {
    fake.faults.clear();
    fake.faults.always({ ...message.spec, path });
    done();
  } else if (message.type === 'clear') {
    fake.faults.clear();
    done();
  } else if (message.type === 'restart') {
    fake.faults.clear();
    fake.restart().then(
      () => done(),
      () => done(),
    );
  } else if (message.type === 'arrivals') {
    done({ arrivals });
    arrivals = {};
  }
});
// The fake records every request for tests; a benchmark sends thousands, so forget them regularly.
setInterval(() => {
  fake.requests.splice(0, fake.requests.length);
}, 1_000).unref();
process.send?.({ type: 'ready', url: fake.url });
