import type { Redis } from 'ioredis';

export interface ChannelListener<T> {
  notice(value: T): void;
  /** Notices may have been lost (the connection dropped): re-read the source of truth. */
  resync(): void;
}

/**
 * Many readers on one subscriber-mode connection: one SUBSCRIBE per channel however many
 * readers follow it, so a thousand open streams need one connection, not a thousand.
 */
export interface ChannelHub<T> {
  /**
   * Resolves once Redis has confirmed the subscription, so anything published after that
   * reaches `listener`. Returns the function that stops listening (the last one unsubscribes).
   */
  listen(channel: string, listener: ChannelListener<T>): Promise<() => void>;
  /** Unsubscribes every channel of this hub and detaches from the connection (not closing it). */
  close(): void;
}

interface Channel<T> {
  listeners: Set<ChannelListener<T>>;
  subscribed: Promise<unknown>;
}

/**
 * Ref-counted SUBSCRIBE/UNSUBSCRIBE on an injected connection, with one 'message' handler that
 * decodes each message once and fans it out. Other components may share the connection, so
 * messages on channels this hub did not subscribe are ignored.
 */
export function createChannelHub<T>(
  subscriber: Redis,
  decode: (channel: string, message: string) => T | undefined,
): ChannelHub<T> {
  const channels = new Map<string, Channel<T>>();

  const onMessage = (channel: string, message: string) => {
    const entry = channels.get(channel);
    if (!entry) return;
    const value = decode(channel, message);
    if (value === undefined) return;
    for (const listener of entry.listeners) listener.notice(value);
  };

  // ioredis resubscribes right after 'ready'; the PING's reply comes after those replies, and
  // whatever was published while disconnected is lost, so readers then re-read their streams.
  const onReady = () => {
    setImmediate(() => {
      subscriber.ping().then(
        () => {
          for (const entry of channels.values()) for (const listener of entry.listeners) listener.resync();
        },
        () => {},
      );
    });
  };

  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);

  const unsubscribe = (channel: string) => {
    // Failing only when the connection is closing, which unsubscribes anyway.
    subscriber.unsubscribe(channel).catch(() => {});
  };

  return {
    async listen(channel, listener) {
      let entry = channels.get(channel);
      if (!entry) {
        // Commands on one connection run in order, so an UNSUBSCRIBE still in flight for this
        // channel is processed before this SUBSCRIBE.
        entry = { listeners: new Set(), subscribed: subscriber.subscribe(channel) };
        channels.set(channel, entry);
      }
      const current = entry;
      current.listeners.add(listener);
      const stop = () => {
        if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
        if (channels.get(channel) !== current) return;
        channels.delete(channel);
        unsubscribe(channel);
      };
      try {
        await current.subscribed;
      } catch (error) {
        stop();
        throw error;
      }
      return stop;
    },

    close() {
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      for (const channel of channels.keys()) unsubscribe(channel);
      channels.clear();
    },
  };
}
