/**
 * A session: whatever a request came in on (a socket connection, one HTTP request or an SSE page,
 * an MQTT request). The dispatcher (dispatcher.ts) and the methods speak only to this; the Unix
 * socket, HTTP and MQTT are framings of one dispatcher.
 */
import type { DaemonEvent } from '../core/events.js';
import { DaqError } from '../errors.js';

export interface SubscriptionFilter {
  types?: string[];
  instruments?: string[];
}

export interface Session {
  /** Who asked, for audit lines: "socket", "http", "mqtt". */
  readonly origin: string;
  /** events.subscribe: deliver events matching the filter as notifications on this session. */
  subscribe(filter: SubscriptionFilter): { subscribed: true; filter: SubscriptionFilter };
  /** events.unsubscribe. */
  unsubscribe(): { subscribed: false };
}

/** Whether an event passes a subscription filter (type prefixes, instrument ids). */
export function eventMatches(filter: SubscriptionFilter, event: DaemonEvent): boolean {
  if (filter.types && !filter.types.some((t) => event.type.startsWith(t))) return false;
  if (filter.instruments && 'instrument' in event && !filter.instruments.includes(event.instrument as string)) return false;
  return true;
}

/** A session that cannot carry events (one HTTP POST, one MQTT request): subscribing says where to go. */
export function oneShotSession(origin: string, where: string): Session {
  return {
    origin,
    subscribe() {
      throw new DaqError('invalid_params', `events.subscribe needs a session that stays open; over ${origin}, ${where}`);
    },
    unsubscribe: () => ({ subscribed: false }),
  };
}

