import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** How long a publish that found Redis unreachable is kept for the reconnect. */
const RETRY_PUBLISH_MS = 60_000;
/** After a reconnect, when a failed publish is sent again, beside at once. */
const RESEND_AFTER_MS = [1_000, 3_000];
/** Publishes kept for the reconnect at most; beyond, they are dropped (and logged). */
const MAX_UNSENT = 10_000;

export interface RedisEventTargetDeps {
  publisher: Redis;
  /** A subscriber-mode connection; messages on channels not listened to here are ignored. */
  subscriber: Redis;
  logger: Logger;
}

/**
 * The event target of `createPubSub` over Redis pub/sub, with topic = channel and JSON payloads
 * (as `@graphql-yoga/redis-event-target` does). Unlike that one, a failed PUBLISH or SUBSCRIBE
 * (Redis unreachable) is logged rather than left an unhandled rejection that ends the process,
 * and a PUBLISH or SUBSCRIBE that failed is sent again when the connection is back.
 */
export function createRedisEventTarget({ publisher, subscriber, logger }: RedisEventTargetDeps) {
  const callbacks = new Map<string, Set<EventListenerOrEventListenerObject>>();

  const call = (listener: EventListenerOrEventListenerObject, event: Event) =>
    typeof listener === 'function' ? listener(event) : listener.handleEvent(event);

  subscriber.on('message', (channel: string, message: string) => {
    const listeners = callbacks.get(channel);
    if (!listeners) return;
    let detail: unknown = null;
    try {
      detail = message === '' ? null : JSON.parse(message);
    } catch {
      return; // not ours
    }
    const event = new CustomEvent(channel, { detail });
    for (const listener of listeners) call(listener, event);
  });

  // Publishes that failed (Redis unreachable) go out when the connection is back, within a
  // bound: a cancel asked for during an outage still stops its generation afterwards. Other
  // instances' subscriptions come back at about the same moment, but pub/sub drops what is sent
  // before they do, so each is sent again a little later (topics are idempotent: a cancel).
  let unsent: { channel: string; message: string; until: number }[] = [];
  const publish = (channel: string, message: string, until: number) => {
    publisher.publish(channel, message).catch((error: Error) => {
      if (Date.now() > until || unsent.length >= MAX_UNSENT) {
        logger.warn('redis publish given up', { topic: channel, error: error.message });
        return;
      }
      if (unsent.length === 0) logger.warn('redis publish failed; sending on reconnect', { error: error.message });
      unsent.push({ channel, message, until });
    });
  };
  publisher.on('ready', () => {
    const due = unsent;
    unsent = [];
    for (const { channel, message, until } of due) {
      publish(channel, message, until);
      for (const ms of RESEND_AFTER_MS) setTimeout(() => publish(channel, message, until), ms).unref();
    }
  });

  const subscribe = (topic: string) => {
    subscriber.subscribe(topic).catch((error: Error) => {
      logger.warn('redis subscribe failed; retrying on reconnect', { topic, error: error.message });
      subscriber.once('ready', () => {
        if (callbacks.has(topic)) subscribe(topic);
      });
    });
  };

  return {
    addEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      if (!listener) return;
      let listeners = callbacks.get(topic);
      if (!listeners) {
        listeners = new Set();
        callbacks.set(topic, listeners);
        subscribe(topic);
      }
      listeners.add(listener);
    },
    removeEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      const listeners = callbacks.get(topic);
      if (!listener || !listeners?.delete(listener) || listeners.size > 0) return;
      callbacks.delete(topic);
      subscriber.unsubscribe(topic).catch(() => {}); // a closed connection unsubscribes anyway
    },
    dispatchEvent(event: Event) {
      publish(event.type, encodeDetail((event as CustomEvent).detail), Date.now() + RETRY_PUBLISH_MS);
      return true;
    },
  };
}

/** A published event's payload as it travels on its channel. */
export const encodeDetail = (detail: unknown) => (detail === undefined ? '' : JSON.stringify(detail));
