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
export type EventListener = (event: DaemonEvent) => void;

/** A synchronous fan-out. Listeners must not throw or block: slow consumers buffer on their side. */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DaemonEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A faulty listener must not break the daemon or the other listeners.
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
