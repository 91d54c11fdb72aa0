import { connectGateway, type OpenStream, type StreamResult, sseGateway } from './chat-clients.js';
import { type LoadOptions, runLoad } from './chat-load.js';
import { type ChatPath, STREAMS_PER_SOCKET } from './chat-paths.js';
import { cpuMeter } from './peers/cpu.js';
import type { FakeUpstream, Gateway } from './peers/gateways.js';
import { type LatencySummary, median, summarise as summariseLatency } from './stats.js';

// Switchyard servers that differ in one thing (a credential, limits on the key), measured side by
// side against one fake upstream: their chats interleaved, the report medians over rounds.

/** graphql-ws checks the credential once per socket; SSE once per chat (one HTTP request each). */
export type Transport = 'ws' | 'sse';

/** One server of a comparison, and the Authorization header its chats carry (or none). */
export interface SideServer<V extends string> {
  variant: V;
  gateway: Gateway;
  authorization: string | undefined;
}

/** A level of load: chats in flight, chats in all, and ms between upstream tokens (none: instant). */
export interface Level {
  concurrency: number;
  requests: number;
  tokenDelayMs?: number;
}

/** One phase: one variant, transport and level, in one round. */
export interface PhaseRow<V extends string> {
  round: number;
  variant: V;
  transport: Transport;
  concurrency: number;
  tokenDelayMs?: number;
  requests: number;
  ttftMs: LatencySummary;
  /** Client send to the request reaching the upstream: the gateway's inbound work (credential, limits). */
  toUpstreamMs: { p50: number; p99: number };
  gatewayCpuMsPerChat: number | undefined;
  errors: number;
  errorSamples: Record<string, number>;
  /** What the gateway logged (LOG_LEVEL=warn) since the previous phase, its warm-up included: distinct lines, counts. */
  gatewayLog: Record<string, number>;
}

/** Per transport and level: each variant's medians over the rounds, and what it adds over the base. */
export interface SummaryRow<V extends string> {
  transport: Transport;
  concurrency: number;
  tokenDelayMs?: number;
  variant: V;
  rounds: number;
  /** Median over the rounds of each round's p50 (and p99) TTFT. */
  ttftP50Ms: number;
  ttftP99Ms: number;
  toUpstreamP50Ms: number;
  gatewayCpuMsPerChat: number | undefined;
  /** Median over the rounds of (this variant's p50 - the base's p50 in the same round); every round's difference beside it. */
  addedP50Ms?: number;
  addedP50ByRoundMs?: number[];
  /** The same for the time to reach the upstream, where the inbound checks happen. */
  addedToUpstreamP50Ms?: number;
  addedGatewayCpuMsPerChat?: number;
  errors: number;
}

export function pathOf(server: SideServer<string>, transport: Transport): ChatPath {
  const headers: Record<string, string> = server.authorization ? { authorization: server.authorization } : {};
  return {
    name: 'switchyard',
    child: server.gateway.child,
    async connect(concurrency, content) {
      if (transport === 'sse') return { open: sseGateway(server.gateway.url, content, headers), close: async () => {} };
      const sockets = await connectGateway(
        server.gateway.url,
        Math.ceil(concurrency / STREAMS_PER_SOCKET),
        15_000,
        server.authorization ? { authorization: server.authorization } : undefined,
      );
      return { open: sockets.stream(content), close: () => sockets.close() };
    },
  };
}

/**
 * One phase over all the servers at once: request k goes to server k mod n, `concurrency` chats
 * in flight in all, so each variant's chats meet the same machine (the other helpers' load
 * included) and their TTFTs can be compared pair-wise; each gateway's CPU is its own process's.
 */
export async function mixedPhase<V extends string>(
  fake: FakeUpstream,
  servers: SideServer<V>[],
  transport: Transport,
  level: Level,
  content: string,
  load: LoadOptions,
  /**
   * Each server its own closed loop of `concurrency / servers` chats (and `requests / servers`), all
   * at once; otherwise one loop whose requests take turns, in which a slower server ends up holding
   * more of the chats.
   */
  split = false,
): Promise<Omit<PhaseRow<V>, 'round'>[]> {
  const clients = await Promise.all(
    servers.map((server) => pathOf(server, transport).connect(level.concurrency, content)),
  );
  try {
    let next = 0;
    let outcomes: StreamResult[][] = servers.map(() => []);
    const openOn =
      (pick: () => number): OpenStream =>
      (signal, onFirstToken) => {
        const index = pick();
        const client = clients[index] as (typeof clients)[number];
        return client.open(signal, onFirstToken).then((outcome) => {
          outcomes[index]?.push(outcome);
          return outcome;
        });
      };
    const run = (requests: number) =>
      split
        ? Promise.all(
            servers.map((_, index) =>
              runLoad(
                Math.ceil(requests / servers.length),
                Math.max(1, Math.round(level.concurrency / servers.length)),
                openOn(() => index),
                load,
              ),
            ),
          )
        : runLoad(
            requests,
            level.concurrency,
            openOn(() => next++ % servers.length),
            load,
          );
    // At full concurrency, so that every keep-alive connection and pool is open before measuring.
    await run(Math.min(level.requests, Math.max(level.concurrency, 100) * servers.length));
    await fake.arrivals();
    next = 0;
    outcomes = servers.map(() => []);
    const meter = cpuMeter(Object.fromEntries(servers.map((s) => [s.variant, s.gateway.child.pid])));
    await run(level.requests);
    const cpu = meter();
    const arrivals = await fake.arrivals();
    return servers.map((server, index) => {
      const mine = outcomes[index] ?? [];
      const ttft = mine.flatMap((o) => (o.ttftMs === undefined ? [] : [o.ttftMs]));
      const toUpstream = summariseLatency(
        mine.flatMap((o) =>
          o.firstAt === undefined || arrivals[o.tag] === undefined ? [] : [(arrivals[o.tag] as number) - o.sentAt],
        ),
      );
      const errorSamples: Record<string, number> = {};
      for (const o of mine) {
        if (o.error === undefined) continue;
        const key = o.error.slice(0, 160);
        if (key in errorSamples || Object.keys(errorSamples).length < 5)
          errorSamples[key] = (errorSamples[key] ?? 0) + 1;
      }
      const gatewayMs = cpu.byProcess[server.variant];
      return {
        variant: server.variant,
        transport,
        concurrency: level.concurrency,
        ...(level.tokenDelayMs === undefined ? {} : { tokenDelayMs: level.tokenDelayMs }),
        requests: mine.length,
        ttftMs: summariseLatency(ttft),
        toUpstreamMs: { p50: toUpstream.p50, p99: toUpstream.p99 },
        gatewayCpuMsPerChat: gatewayMs === undefined ? undefined : gatewayMs / Math.max(1, mine.length),
        errors: mine.filter((o) => o.error !== undefined).length,
        errorSamples,
        gatewayLog: server.gateway.child.takeLog(),
      };
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** One phase per server, one after the other, `requests / servers` chats each. */
export async function sequentialPhases<V extends string>(
  fake: FakeUpstream,
  servers: SideServer<V>[],
  transport: Transport,
  level: Level,
  content: string,
  load: LoadOptions,
): Promise<Omit<PhaseRow<V>, 'round'>[]> {
  const rows: Omit<PhaseRow<V>, 'round'>[] = [];
  const each = { ...level, requests: Math.ceil(level.requests / servers.length) };
  for (const server of servers) rows.push(...(await mixedPhase(fake, [server], transport, each, content, load)));
  return rows;
}

/**
 * At concurrency 1 the variants take turns request by request. Above, by default, each runs alone
 * in turn, as in the chat benchmark: several gateway processes loaded at once compete for the two
 * cores. `together` runs them at once instead, each with its share of the `concurrency` chats in
 * flight, so that a busy machine's drift falls on each alike.
 */
export const sideBySidePhase = <V extends string>(
  fake: FakeUpstream,
  servers: SideServer<V>[],
  transport: Transport,
  level: Level,
  content: string,
  load: LoadOptions,
  together = false,
) =>
  level.concurrency === 1 || together
    ? mixedPhase(fake, servers, transport, level, content, load, level.concurrency > 1)
    : sequentialPhases(fake, servers, transport, level, content, load);

/** The fake echoes `echo: <tag> w1 w2 ...`: a reply of `tokens` word tokens. */
export const echoPrompt = (tokens: number) => Array.from({ length: tokens - 2 }, (_, i) => `w${i + 1}`).join(' ');

export interface RoundsPlan<V extends string> {
  fake: FakeUpstream;
  rounds: number;
  /** Every level runs once per round and transport; a paced level sets the fake's pause first. */
  plan: Level[];
  transports: Transport[];
  /** The servers of a round, in the order their requests take turns (rotate it between rounds). */
  serversFor(round: number): SideServer<V>[];
  content: string;
  load: LoadOptions;
  /** Interleave the servers at every level, not only at concurrency 1 (see sideBySidePhase). */
  together?: boolean;
  log(line: string): void;
}

/** Every round, level and transport, each phase side by side (see sideBySidePhase). */
export async function runRounds<V extends string>(settings: RoundsPlan<V>): Promise<PhaseRow<V>[]> {
  const { fake, content, load, log } = settings;
  const phases: PhaseRow<V>[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    for (const level of settings.plan) {
      if (level.tokenDelayMs !== undefined) await fake.fault({ tokenDelayMs: level.tokenDelayMs });
      try {
        for (const transport of settings.transports) {
          const servers = settings.serversFor(round);
          const rows = await sideBySidePhase(fake, servers, transport, level, content, load, settings.together);
          for (const row of rows) {
            phases.push({ round, ...row });
            log(
              `round ${round + 1} ${transport} c=${level.concurrency}${level.tokenDelayMs ? ' paced' : ''} ${row.variant}: ttft p50 ${row.ttftMs.p50.toFixed(2)} ms, to upstream p50 ${row.toUpstreamMs.p50.toFixed(2)} ms, gw cpu ${row.gatewayCpuMsPerChat?.toFixed(2)} ms/chat, errors ${row.errors}`,
            );
          }
        }
      } finally {
        if (level.tokenDelayMs !== undefined) await fake.clear();
      }
    }
  }
  return phases;
}

/** Each variant's medians over the rounds, per transport and level; `base` is what the others are compared with. */
export function summariseRounds<V extends string>(
  phases: PhaseRow<V>[],
  variants: readonly V[],
  base: V,
): SummaryRow<V>[] {
  const rows: SummaryRow<V>[] = [];
  const levels = new Map<string, PhaseRow<V>>();
  for (const p of phases) levels.set(`${p.transport}|${p.concurrency}|${p.tokenDelayMs ?? ''}`, p);
  for (const level of levels.values()) {
    const at = (variant: V) =>
      phases.filter(
        (p) =>
          p.variant === variant &&
          p.transport === level.transport &&
          p.concurrency === level.concurrency &&
          p.tokenDelayMs === level.tokenDelayMs,
      );
    const baseRows = at(base);
    const byRound = (mine: PhaseRow<V>[], pick: (p: PhaseRow<V>) => number | undefined) =>
      mine.flatMap((p) => {
        const other = baseRows.find((b) => b.round === p.round);
        const a = pick(p);
        const b = other && pick(other);
        return a === undefined || b === undefined ? [] : [a - b];
      });
    for (const variant of variants) {
      const mine = at(variant);
      if (mine.length === 0) continue;
      const cpu = mine.map((p) => p.gatewayCpuMsPerChat).filter((x): x is number => x !== undefined);
      const row: SummaryRow<V> = {
        transport: level.transport,
        concurrency: level.concurrency,
        ...(level.tokenDelayMs === undefined ? {} : { tokenDelayMs: level.tokenDelayMs }),
        variant,
        rounds: mine.length,
        ttftP50Ms: median(mine.map((p) => p.ttftMs.p50)),
        ttftP99Ms: median(mine.map((p) => p.ttftMs.p99)),
        toUpstreamP50Ms: median(mine.map((p) => p.toUpstreamMs.p50)),
        gatewayCpuMsPerChat: cpu.length ? median(cpu) : undefined,
        errors: mine.reduce((sum, p) => sum + p.errors, 0),
      };
      if (variant !== base) {
        const added = byRound(mine, (p) => p.ttftMs.p50);
        row.addedP50Ms = median(added);
        row.addedP50ByRoundMs = added;
        row.addedToUpstreamP50Ms = median(byRound(mine, (p) => p.toUpstreamMs.p50));
        const addedCpu = byRound(mine, (p) => p.gatewayCpuMsPerChat);
        if (addedCpu.length) row.addedGatewayCpuMsPerChat = median(addedCpu);
      }
      rows.push(row);
    }
  }
  return rows;
}
