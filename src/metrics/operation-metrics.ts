import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { operationNameLabels } from './operation-names.js';

/** How a client receives a generation's deltas. */
export type DeltaTransport = 'graphql-ws' | 'sse' | 'rest';
/** How a GraphQL subscription is served. */
export type SubscriptionTransport = 'graphql-ws' | 'sse';
export type OperationType = 'query' | 'mutation' | 'subscription';

/** GraphQL operations, subscriptions, deltas sent and open WebSockets. */
export interface OperationMetrics {
  /** The label an operation name counts under (bounded: see operation-names.ts). */
  nameLabel(name: string | null | undefined): string;
  /** One operation ended (a subscription: when its stream ended), with the codes of its errors. */
  operationEnded(type: OperationType, name: string, seconds: number, codes: readonly string[]): void;
  /** A GraphQL request refused before any operation ran (a parse, validation or sign-in error). */
  requestRefused(code: string): void;
  subscriptionStarted(name: string, transport: SubscriptionTransport): void;
  subscriptionEnded(name: string, transport: SubscriptionTransport, seconds: number): void;
  deltaSent(transport: DeltaTransport): void;
  socketOpened(): void;
  socketClosed(): void;
}

const OPERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SUBSCRIPTION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14400];
/** Codes come from the server's own errors; anything else shaped oddly is folded. */
const CODE = /^[A-Z][A-Z0-9_]{0,39}$/;
const codeLabel = (code: string) => (CODE.test(code) ? code : 'OTHER');

export function createOperationMetrics(registry: Registry): OperationMetrics {
  const registers = [registry];
  const operations = new Counter({
    name: 'switchyard_graphql_operations_total',
    help: 'GraphQL operations executed, by type and name (unnamed: anonymous; past the first 200 names: other)',
    labelNames: ['type', 'name'],
    registers,
  });
  const duration = new Histogram({
    name: 'switchyard_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration; a subscription until its stream ended',
    labelNames: ['type', 'name'],
    buckets: OPERATION_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'switchyard_graphql_errors_total',
    help: 'GraphQL operations that had errors, by extensions.code (each code once per operation; type none: a request refused before any operation ran)',
    labelNames: ['type', 'name', 'code'],
    registers,
  });
  const started = new Counter({
    name: 'switchyard_graphql_subscriptions_started_total',
    help: 'GraphQL subscriptions started, by name and transport',
    labelNames: ['name', 'transport'],
    registers,
  });
  const ended = new Counter({
    name: 'switchyard_graphql_subscriptions_ended_total',
    help: 'GraphQL subscriptions ended (completed, failed or left by the client), by name and transport',
    labelNames: ['name', 'transport'],
    registers,
  });
  const lasted = new Histogram({
    name: 'switchyard_graphql_subscription_duration_seconds',
    help: 'How long GraphQL subscriptions lasted, from start to end',
    labelNames: ['name', 'transport'],
    buckets: SUBSCRIPTION_BUCKETS,
    registers,
  });
  const subscribers = new Gauge({
    name: 'switchyard_graphql_subscribers_open',
    help: 'GraphQL subscriptions open on this instance, by transport',
    labelNames: ['transport'],
    registers,
  });
  const deltas = new Counter({
    name: 'switchyard_stream_deltas_sent_total',
    help: 'Generation deltas sent to clients, by transport (graphql-ws, sse, rest)',
    labelNames: ['transport'],
    registers,
  });
  const sockets = new Gauge({
    name: 'switchyard_websocket_connections_open',
    help: 'GraphQL WebSocket connections open on this instance',
    registers,
  });
  for (const transport of ['graphql-ws', 'sse'] as const) subscribers.set({ transport }, 0);
  sockets.set(0);

  // Children looked up by one string key: bounded like the labels (types x 201 names x codes).
  const children = new Map<string, { ops: Counter.Internal; time: Histogram.Internal<string> }>();
  const of = (type: string, name: string) => {
    const key = `${type}\u0000${name}`;
    let found = children.get(key);
    if (!found) {
      found = { ops: operations.labels({ type, name }), time: duration.labels({ type, name }) };
      children.set(key, found);
    }
    return found;
  };
  const deltaChildren = {
    'graphql-ws': deltas.labels({ transport: 'graphql-ws' }),
    sse: deltas.labels({ transport: 'sse' }),
    rest: deltas.labels({ transport: 'rest' }),
  };

  return {
    nameLabel: operationNameLabels(),
    operationEnded(type, name, seconds, codes) {
      const series = of(type, name);
      series.ops.inc();
      series.time.observe(seconds);
      for (const code of codes) errors.inc({ type, name, code: codeLabel(code) });
    },
    requestRefused(code) {
      errors.inc({ type: 'none', name: 'anonymous', code: codeLabel(code) });
    },
    subscriptionStarted(name, transport) {
      started.inc({ name, transport });
      subscribers.inc({ transport });
    },
    subscriptionEnded(name, transport, seconds) {
      ended.inc({ name, transport });
      subscribers.dec({ transport });
      lasted.observe({ name, transport }, seconds);
    },
    deltaSent: (transport) => deltaChildren[transport].inc(),
    socketOpened: () => sockets.inc(),
    socketClosed: () => sockets.dec(),
  };
}
