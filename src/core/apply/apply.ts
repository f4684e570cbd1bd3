/**
 * The one path that makes the running instruments and modules match a new config: socket
 * commands, hot reload, and later transactions and version rollback all end here. Steps run in
 * dependency order (new instruments before the modules that use them; modules before the
 * instruments they release). Each step registers its undo before it runs; if a step fails, the
 * steps already done are undone in reverse order, so the running set-up is back where it was.
 */
import type { Logger } from 'pino';
import type { ParamValue } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { ConfigView } from '../../config/model.js';
import { describeError } from '../../errors.js';
import type { ConfigDiff } from './diff.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../../config/resolve.js';

/** What applyDiff needs from the instrument supervisor. */
export interface InstrumentRuntime {
  spawn(spec: InstrumentSpec): void;
  /** Stops the actor and resolves once its port is closed. */
  stop(id: string): Promise<void>;
  /** Reconnect with a new spec (same actor). */
  reconfigure(id: string, spec: InstrumentSpec): void;
  /** Write params to the device and confirm them. Rejects with not_ready if it is not connected. */
  setParams(id: string, params: Record<string, ParamValue>): Promise<Record<string, ParamValue>>;
  setPollInterval(id: string, ms: number): void;
  isReady(id: string): boolean;
  spec(id: string): InstrumentSpec | undefined;
  /** What the device holds now as far as daqd knows (last set/confirmed value, else last reading). */
  currentValue(id: string, name: string): ParamValue | undefined;
}

/** What applyDiff needs from the module supervisor: make the running modules match a config. */
export interface ModuleRuntime {
  sync(config: ConfigView, specs: ReadonlyMap<string, InstrumentSpec>): void;
}

export interface ApplyOptions {
  /**
   * true: a parameter change must reach the device now (instrument.set), so an instrument that
   * is not connected fails the apply. false (reload): it is stored and applied on reconnect.
   */
  requireLive: boolean;
}

export interface ApplyInput {
  prev: ConfigView;
  next: ConfigView;
  diff: ConfigDiff;
  /** Validated specs of `next`, and of `prev` (for undo). */
  nextSpecs: ReadonlyMap<string, InstrumentSpec>;
  prevSpecs: ReadonlyMap<string, InstrumentSpec>;
}

export interface ApplyResult {
  /** Values the devices confirmed, per instrument. */
  confirmed: Record<string, Record<string, ParamValue>>;
}

type Undo = () => Promise<void> | void;

export async function applyDiff(
  input: ApplyInput,
  instruments: InstrumentRuntime,
  modules: ModuleRuntime,
  options: ApplyOptions,
  log: Logger,
): Promise<ApplyResult> {
  const { diff, nextSpecs, prevSpecs } = input;
  const undos: Undo[] = [];
  const confirmed: Record<string, Record<string, ParamValue>> = {};
  const step = async (undo: Undo, run: () => Promise<void> | void) => {
    undos.push(undo);
    await run();
  };

  try {
    for (const id of diff.instruments.added) {
      await step(() => instruments.stop(id), () => instruments.spawn(nextSpecs.get(id)!));
    }
    for (const [id, change] of Object.entries(diff.instruments.changed)) {
      const spec = nextSpecs.get(id)!;
      const old = prevSpecs.get(id)!;
      if (change.reconnect) {
        await step(() => instruments.reconfigure(id, old), () => instruments.reconfigure(id, spec));
        continue;
      }
      const live: Record<string, ParamValue> = {};
      for (const [name, v] of Object.entries(change.params)) if (v.to !== undefined) live[name] = v.to;
      if (Object.keys(live).length > 0) {
        if (instruments.isReady(id) || options.requireLive) {
          const restore: Record<string, ParamValue> = {};
          for (const name of Object.keys(live)) {
            const was = instruments.currentValue(id, name);
            if (was !== undefined) restore[name] = was;
          }
          await step(
            async () => {
              if (Object.keys(restore).length > 0) await instruments.setParams(id, restore);
            },
            async () => {
              confirmed[id] = await instruments.setParams(id, live);
            },
          );
        } else {
          // Not connected: the new values are part of the spec it connects with.
          await step(() => instruments.reconfigure(id, old), () => instruments.reconfigure(id, spec));
        }
      }
      if (change.pollIntervalMs) {
        const to = change.pollIntervalMs.to ?? DEFAULT_POLL_INTERVAL_MS;
        await step(() => instruments.setPollInterval(id, old.pollIntervalMs), () => instruments.setPollInterval(id, to));
      }
    }
    // Modules after the instruments they may start using, before the instruments they release.
    await step(() => modules.sync(input.prev, prevSpecs), () => modules.sync(input.next, nextSpecs));
    for (const id of diff.instruments.removed) {
      await step(() => instruments.spawn(prevSpecs.get(id)!), () => instruments.stop(id));
    }
    return { confirmed };
  } catch (err) {
    // The failed step's own undo runs too: it may have half-applied (the first of two params).
    await rollback(undos, log, err);
    throw err;
  }
}

async function rollback(undos: Undo[], log: Logger, cause: unknown): Promise<void> {
  log.warn({ steps: undos.length }, `apply failed (${describeError(cause)}); undoing the steps already applied`);
  for (const undo of undos.reverse()) {
    try {
      await undo();
    } catch (err) {
      log.error({ err }, `undo step failed: ${describeError(err)} (the instrument will be reconciled on its next reconnect)`);
    }
  }
}
