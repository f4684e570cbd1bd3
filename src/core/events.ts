/**
 * Everything the daemon tells the outside world after the fact: readings, state changes, config
 * events. Socket subscribers, modules and (later) recorders and MQTT all listen here.
 */
import type { ParamValue, ReadingFlag } from '../drivers/types.js';

export type InstrumentState = 'connecting' | 'ready' | 'error' | 'disabled' | 'stopping' | 'stopped';

export type DaemonEvent =
  | {
      type: 'reading';
      instrument: string;
      seq: number;
      ts: string;
      values: Record<string, ParamValue>;
      /** Unit of each reading that has one (the unit in force now, e.g. "dBm" after a units change). */
      units?: Record<string, string>;
      /** Readings that are not valid measurements (a saturated detector) and why. */
      flags?: Record<string, ReadingFlag>;
    }
  | { type: 'instrument.state'; instrument: string; state: InstrumentState; error?: { kind: string; message: string } }
  | { type: 'instrument.added'; instrument: string }
  | { type: 'instrument.removed'; instrument: string }
  | { type: 'instrument.updated'; instrument: string; params?: Record<string, ParamValue>; reconnected?: boolean }
  | { type: 'module.added' | 'module.removed' | 'module.updated'; module: string }
  | { type: 'module.state'; module: string; state: string; reason?: string }
  | { type: 'module.alarm'; module: string; active: boolean; message: string; value?: number; cause?: 'limit' | 'stale' | 'unit' | 'invalid' }
  | { type: 'module.interlock'; module: string; tripped: boolean; message: string; cause?: 'limit' | 'stale' | 'sensor_error' | 'saturated' | 'invalid' | 'unit' }
  | { type: 'module.reading'; module: string; seq: number; ts: string; values: Record<string, ParamValue> }
  | { type: 'config.reloaded'; source: string; diff: unknown; durationMs: number; at: string }
  | { type: 'config.reloadFailed'; source: string; errors: unknown[]; at: string }
  | { type: 'config.persisted'; file: string; bytes: number; at: string }
  | { type: 'config.persistFailed'; file: string; kind: string; message: string; at: string }
  | { type: 'command.applied'; command: string; summary: string; at: string }
  /** A transaction changed state (committed, pending_confirm, confirmed, failed, expired, reverted); `alarm` on a missed confirm deadline. */
  | { type: 'tx.state'; tx: string; state: string; message?: string; alarm?: boolean };

export type DaemonEventType = DaemonEvent['type'];

/** Every type on the bus, at run time (subscribers that take type prefixes resolve them here). */
export const DAEMON_EVENT_TYPES = [
  'reading',
  'instrument.state',
  'instrument.added',
  'instrument.removed',
  'instrument.updated',
  'module.added',
  'module.removed',
  'module.updated',
  'module.state',
  'module.alarm',
  'module.interlock',
  'module.reading',
  'config.reloaded',
  'config.reloadFailed',
  'config.persisted',
  'config.persistFailed',
  'command.applied',
  'tx.state',
] as const satisfies readonly DaemonEventType[];
// Compile-time: the list names every type of the union.
const everyTypeListed: Record<Exclude<DaemonEventType, (typeof DAEMON_EVENT_TYPES)[number]>, never> = {};
void everyTypeListed;
export type EventListener = (event: DaemonEvent) => void;

export interface Interest {
  /** Only events of these types (default: every event). */
  types?: readonly DaemonEventType[];
  /** Who listens, for the log line when the listener throws. */
  owner?: string;
}

/** Told about a listener that threw (the daemon logs it); the other listeners still get the event. */
export type ListenerFailure = (err: unknown, owner: string) => void;

interface Entry {
  listener: EventListener;
  owner: string;
  /** False once unsubscribed: an emit under way skips it from then on. */
  active: boolean;
}

/**
 * A synchronous fan-out. Listeners must not throw or block: slow consumers buffer on their side.
 *
 * Readings come at thousands a second (issue #25), so an event costs only the listeners that want
 * its type: each says which types it wants, and emit walks the list for that type plus the list of
 * listeners to everything. The lists are copied on (un)subscribe, never on emit: emitting allocates
 * nothing. A listener that throws is reported (logged by the daemon, zigbee2mqtt-style per owner)
 * and the others still run.
 */
export class EventBus {
  /** Listeners to every event, in subscription order. */
  private everything: readonly Entry[] = [];
  /**
   * Per type that someone asked for by name: its listeners and the listeners to everything, in
   * subscription order (so the order of delivery is the order of subscription, as it always was).
   */
  private readonly byType = new Map<DaemonEventType, readonly Entry[]>();
  private count = 0;

  constructor(private readonly failed: ListenerFailure = () => {}) {}

  subscribe(listener: EventListener, interest: Interest = {}): () => void {
    const entry: Entry = { listener, owner: interest.owner ?? 'listener', active: true };
    const types = interest.types ? [...new Set(interest.types)] : undefined;
    if (types) {
      for (const t of types) this.byType.set(t, [...(this.byType.get(t) ?? this.everything), entry]);
    } else {
      this.everything = [...this.everything, entry];
      for (const [t, list] of this.byType) this.byType.set(t, [...list, entry]);
    }
    this.count++;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      entry.active = false;
      this.count--;
      this.everything = this.everything.filter((e) => e !== entry);
      for (const [t, list] of this.byType) this.byType.set(t, list.filter((e) => e !== entry));
    };
  }

  emit(event: DaemonEvent): void {
    const entries = this.byType.get(event.type) ?? this.everything;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (!entry.active) continue;
      try {
        entry.listener(event);
      } catch (err) {
        try {
          this.failed(err, entry.owner);
        } catch {
          // Reporting must not break the fan-out either.
        }
      }
    }
  }

  /** Whether anyone listens to events of this type (a producer may skip building them). */
  wants(type: DaemonEventType): boolean {
    return (this.byType.get(type) ?? this.everything).length > 0;
  }

  get size(): number {
    return this.count;
  }
}
