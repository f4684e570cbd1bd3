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
  /**
   * Write params to the device and confirm them. Rejects with not_ready if it is not connected,
   * `unsafe` if an interlock holds one of them.
   */
  setParams(id: string, params: Record<string, ParamValue>): Promise<Record<string, ParamValue>>;
  /** Read the named parameters back from the device (those it can report). */
  readDevice(id: string, names: readonly string[]): Promise<Record<string, ParamValue>>;
  /** The config's values for an instrument changed without device I/O (already sent): what it reconnects with. */
  adopt(id: string, params: Record<string, ParamValue>): void;
  setPollInterval(id: string, ms: number): void;
  isReady(id: string): boolean;
  spec(id: string): InstrumentSpec | undefined;
  /** What the device last confirmed or reported (never the config): the fallback for undo. */
  deviceValue(id: string, name: string): ParamValue | undefined;
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
  /**
   * Values a command already wrote to the device and had confirmed (instrument.set sends first,
   * then records): the config takes them without sending them again.
   */
  applied?: Readonly<Record<string, Readonly<Record<string, ParamValue>>>>;
  /** Told each step before it runs ("start pm2", "set pm1 wavelength_nm"): a transaction reports the one that failed. */
  trace?: (step: string) => void;
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
  const trace = options.trace;
  const step = async (undo: Undo, run: () => Promise<void> | void) => {
    undos.push(undo);
    await run();
  };

  try {
    for (const id of diff.instruments.added) {
      trace?.(`start ${id}`);
      await step(() => instruments.stop(id), () => instruments.spawn(nextSpecs.get(id)!));
    }
    for (const [id, change] of Object.entries(diff.instruments.changed)) {
      const spec = nextSpecs.get(id)!;
      const old = prevSpecs.get(id)!;
      if (change.reconnect) {
        trace?.(`reconnect ${id}`);
        await step(() => instruments.reconfigure(id, old), () => instruments.reconfigure(id, spec));
        continue;
      }
      const applied = options.applied && Object.hasOwn(options.applied, id) ? options.applied[id]! : undefined;
      const live: Record<string, ParamValue> = {};
      for (const [name, v] of Object.entries(change.params)) {
        if (v.to === undefined) continue;
        if (applied && Object.hasOwn(applied, name)) continue; // on the device already
        live[name] = v.to;
      }
      if (applied || change.forgotten.length > 0) {
        // No device I/O: the actor only learns what it restores on its next reconnect.
        await step(() => instruments.adopt(id, old.params), () => instruments.adopt(id, spec.params));
      }
      if (Object.keys(live).length > 0) {
        trace?.(`set ${id} ${Object.keys(live).join(', ')}`);
        if (instruments.isReady(id) || options.requireLive) {
          // Undo puts back what the device holds now, asked of the device itself where it can say.
          const restore = await deviceCheckpoint(instruments, id, Object.keys(live), log);
          await step(
            async () => {
              instruments.adopt(id, old.params);
              if (Object.keys(restore).length > 0) await instruments.setParams(id, restore);
            },
            async () => {
              confirmed[id] = await instruments.setParams(id, live);
              instruments.adopt(id, spec.params);
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
    trace?.('update modules');
    await step(() => modules.sync(input.prev, prevSpecs), () => modules.sync(input.next, nextSpecs));
    for (const id of diff.instruments.removed) {
      trace?.(`stop ${id}`);
      await step(() => instruments.spawn(prevSpecs.get(id)!), () => instruments.stop(id));
    }
    return { confirmed };
  } catch (err) {
    // The failed step's own undo runs too: it may have half-applied (the first of two params).
    await rollback(undos, log, err);
    throw err;
  }
}

/**
 * The device's values of `names` before a change: read back where the device can report them,
 * else what it last confirmed. A value the device never told daqd has no checkpoint (logged): it
 * cannot be put back, and guessing from the config is how a failed reload once left a meter at
 * 950 nm while the config said otherwise.
 */
export async function deviceCheckpoint(instruments: InstrumentRuntime, id: string, names: string[], log: Logger): Promise<Record<string, ParamValue>> {
  const readable = new Set(
    (instruments.spec(id)?.driver.params(instruments.spec(id)!.options) ?? []).filter((d) => d.readBack).map((d) => d.name),
  );
  let read: Record<string, ParamValue> = {};
  const ask = names.filter((n) => readable.has(n));
  if (ask.length > 0 && instruments.isReady(id)) {
    try {
      read = await instruments.readDevice(id, ask);
    } catch (err) {
      log.warn({ instrument: id }, `could not read ${ask.join(', ')} back before changing them (${describeError(err)}); undo uses the last confirmed values`);
    }
  }
  const restore: Record<string, ParamValue> = {};
  const unknown: string[] = [];
  for (const name of names) {
    const value = Object.hasOwn(read, name) ? read[name] : instruments.deviceValue(id, name);
    if (value !== undefined) restore[name] = value;
    else unknown.push(name);
  }
  if (unknown.length > 0) log.info({ instrument: id, params: unknown }, `${id}: no device value known for ${unknown.join(', ')}; a failed apply cannot put them back`);
  return restore;
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
