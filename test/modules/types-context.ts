/**
 * A recorded ModuleContext for unit tests of module types: the hardware-free edge. emit() and
 * submit() are recorded; submit answers come from a queue of deferred results the test settles
 * when it chooses, so "in flight" is a real state the test controls.
 */
import { pino } from 'pino';
import type { DaemonEvent } from '../../src/core/events.js';
import type { Command, CommandResult } from '../../src/core/commands.js';
import type { ModuleContext, ModuleTypeDefinition } from '../../src/modules/types.js';
import type { ReadingDecl } from '../../src/drivers/types.js';

export interface PendingSubmit {
  command: Command;
  resolve(result?: CommandResult): void;
  reject(err: unknown): void;
  settled: Promise<void>;
}

export interface FakeContext<S> extends ModuleContext<S> {
  emitted: DaemonEvent[];
  submits: PendingSubmit[];
  roles: Record<string, string>;
}

/**
 * `declared`: the readings each instrument declares (ModuleContext.readingsOf); instruments not
 * listed are unknown. Without it the context has no readingsOf, like a context built by hand.
 */
export function fakeContext<S>(
  type: ModuleTypeDefinition<S>,
  rawSettings: unknown,
  roles: Record<string, string>,
  id = 'm1',
  declared?: Record<string, ReadingDecl[]>,
): FakeContext<S> {
  const settings = type.settingsSchema.parse(rawSettings);
  const ctx: FakeContext<S> = {
    id,
    settings,
    roles: { ...roles },
    log: pino({ level: 'silent' }),
    emitted: [],
    submits: [],
    ...(declared ? { readingsOf: (instrument: string) => declared[instrument] } : {}),
    emit(event) {
      ctx.emitted.push(event);
    },
    submit(command) {
      let resolve!: (r: CommandResult) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<CommandResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Resolves once the module's own then-handlers have run, so tests can await the outcome.
      const settled = promise.then(
        () => new Promise<void>((r) => setImmediate(r)),
        () => new Promise<void>((r) => setImmediate(r)),
      );
      ctx.submits.push({ command, resolve: (r = {}) => resolve(r), reject, settled });
      return promise;
    },
  };
  return ctx;
}

let seq = 0;
export function reading(instrument: string, values: Record<string, number | boolean | string>, ts?: number): DaemonEvent {
  seq += 1;
  return { type: 'reading', instrument, seq, ts: new Date(ts ?? 1_700_000_000_000 + seq * 1000).toISOString(), values };
}

export function eventsOf<T extends DaemonEvent['type']>(ctx: FakeContext<unknown>, type: T): Extract<DaemonEvent, { type: T }>[] {
  return ctx.emitted.filter((e): e is Extract<DaemonEvent, { type: T }> => e.type === type);
}
