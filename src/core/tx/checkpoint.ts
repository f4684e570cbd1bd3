/**
 * The undo of a transaction's commit: what the devices held before it (read back where the device
 * can, else the last value each confirmed), and how to put the set-up and those values back when a
 * step fails or a pending confirmed commit is reverted.
 *
 * Why a checkpoint of the devices and not only the config: the config says what a person wants,
 * not what the hardware holds; a stage moved or a wavelength set by the commit is put back to where
 * the device was, and a reconnected instrument gets back every setpoint it held. A restore goes on
 * past what fails: what could not be put back is listed (`failures`, "NOT restored: ...") so the
 * answer and the log say exactly which device was left where.
 */
import type { ConfigModel, ConfigView } from '../../config/model.js';
import type { ParamValue } from '../../drivers/types.js';
import { describeError } from '../../errors.js';
import { applyDiff, deviceCheckpoint } from '../apply/apply.js';
import { diffConfigs, type ConfigDiff } from '../apply/diff.js';
import { specsOf } from '../execution.js';
import type { TxDeps } from './manager.js';
import type { Replayed } from './stage.js';
import type { DeviceCheckpoint } from './types.js';

/** What checkpoint and restore need: the devices, the modules, the connection wait, the log. */
export type RestoreDeps = Pick<TxDeps, 'instruments' | 'modules' | 'log'> & { daemon: Pick<TxDeps['daemon'], 'waitForConnection'> };

/** What a restore did, for the answer (`data.restored`) and the message. */
export interface Restored {
  instruments: { stopped: string[]; restarted: string[]; reconnected: string[]; note?: string };
  devices: Record<string, Record<string, ParamValue>>;
  modules: string[];
  file: string;
  failures: string[];
}

/** Device values before the commit, of what it changes or sends (read back where the device can). */
export async function checkpoint(deps: Pick<RestoreDeps, 'instruments' | 'log'>, prev: ConfigView, diff: ConfigDiff, staged: Replayed): Promise<DeviceCheckpoint> {
  const { instruments, log } = deps;
  const cp: DeviceCheckpoint = {};
  const prevSpecs = specsOf(prev);
  const ids = new Set([...Object.keys(diff.instruments.changed), ...Object.keys(staged.writes)]);
  // Each instrument on its own lane: read them all at once.
  await Promise.all([...ids].map(async (id) => {
    const spec = prevSpecs.get(id);
    if (!spec || !instruments.isReady(id)) return;
    const decls = spec.driver.params(spec.options).filter((d) => d.settable === 'running');
    const change = diff.instruments.changed[id];
    const wanted = new Set([...Object.keys(change?.params ?? {}), ...Object.keys(staged.writes[id]?.values ?? {})]);
    // A reconnect sends the config's setpoints: put back every setpoint the device held.
    const names = decls.filter((d) => wanted.has(d.name) || (change?.reconnect && d.kind === 'setpoint')).map((d) => d.name);
    if (names.length === 0) return;
    cp[id] = await deviceCheckpoint(instruments, id, names, log);
  }));
  return cp;
}

/** Undo a failed commit: the runtime back to `prev` (one apply path), then the devices' values. */
export async function restore(deps: RestoreDeps, prev: ConfigModel, next: ConfigModel, diff: ConfigDiff, cp: DeviceCheckpoint, appliedAll: boolean, written: Record<string, string[]>, timeoutMs: number, steps: string[]): Promise<Restored> {
  const { instruments, modules, log } = deps;
  const failures: string[] = [];
  let reverse: ConfigDiff | undefined;
  if (appliedAll) {
    reverse = diffConfigs(next, prev, specsOf(prev));
    try {
      await applyDiff({ prev: next, next: prev, diff: reverse, nextSpecs: specsOf(prev), prevSpecs: specsOf(next) }, instruments, modules, { requireLive: false }, log);
    } catch (err) {
      failures.push(`putting the set-up back: ${describeError(err)}`);
    }
  }
  const values = restoreValues(cp, written, appliedAll);
  const devices = await restoreDevices(deps, reverse, values, timeoutMs, appliedAll);
  if (!appliedAll) {
    // The apply path undid its own steps (each set put back to the device's read-back value,
    // the same values as this checkpoint): say which.
    for (const s of steps) {
      const m = /^set (\S+) (.+)$/.exec(s);
      if (!m || !cp[m[1]!]) continue;
      for (const name of m[2]!.split(', ')) if (Object.hasOwn(cp[m[1]!]!, name)) (devices.devices[m[1]!] ??= {})[name] = cp[m[1]!]![name]!;
    }
  }
  const started = steps.filter((s) => s.startsWith('start ')).map((s) => s.slice(6));
  return {
    instruments: appliedAll
      ? { stopped: diff.instruments.added, restarted: diff.instruments.removed, reconnected: Object.entries(diff.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id) }
      : { stopped: started, restarted: [], reconnected: [], note: `the apply path undid its own steps (${steps.join('; ')})` },
    devices: devices.devices,
    modules: appliedAll ? [...diff.modules.added, ...diff.modules.removed, ...Object.keys(diff.modules.changed)] : [],
    file: 'not written',
    failures: [...failures, ...devices.failures],
  };
}

/**
 * Set the checkpoint's values back on each ready device. With `waitFirst`, first wait (bounded) for
 * the instruments the reverse apply started or reconnected, so their values are not lost to a
 * connection still being made.
 */
export async function restoreDevices(deps: RestoreDeps, reverse: ConfigDiff | undefined, values: DeviceCheckpoint, timeoutMs: number, waitFirst: boolean) {
  const { instruments } = deps;
  const failures: string[] = [];
  const devices: Record<string, Record<string, ParamValue>> = {};
  /** Instruments whose wait failed (threw), with why: said once each, below. */
  const waitFailed = new Map<string, string>();
  if (reverse && waitFirst) {
    const back = [...reverse.instruments.added, ...Object.entries(reverse.instruments.changed).filter(([, c]) => c.reconnect).map(([id]) => id)];
    // Each wait on its own: one that fails must not stop the other instruments' values going back.
    await Promise.all(
      back.map(async (id) => {
        try {
          await deps.daemon.waitForConnection(id, timeoutMs);
        } catch (err) {
          waitFailed.set(id, describeError(err));
        }
      }),
    );
  }
  for (const [id, restore] of Object.entries(values)) {
    if (Object.keys(restore).length === 0) continue;
    if (!instruments.isReady(id)) {
      failures.push(`${id} is not ready${waitFailed.has(id) ? ` (waiting for it to connect failed: ${waitFailed.get(id)})` : ''}: ${Object.keys(restore).join(', ')} not set back`);
      waitFailed.delete(id);
      continue;
    }
    try {
      devices[id] = await instruments.setParams(id, restore);
    } catch (err) {
      failures.push(`${id}: could not set ${Object.keys(restore).join(', ')} back (${describeError(err)})`);
    }
  }
  // A failed wait not said above (nothing to set back, or the instrument was ready all the same).
  for (const [id, why] of waitFailed) failures.push(`${id}: waiting for it to connect failed (${why}); check that it is connected and holds its values`);
  if (failures.length) deps.log.error({ failures }, `restore incomplete: ${failures.join('; ')}`);
  return { devices, failures };
}

/** The device values a restore sets back: what the transaction changed or sent (all of a reconnected instrument's setpoints). */
export function restoreValues(cp: DeviceCheckpoint, written: Record<string, string[]>, appliedAll: boolean): DeviceCheckpoint {
  const out: DeviceCheckpoint = {};
  for (const [id, values] of Object.entries(cp)) {
    const names = appliedAll ? Object.keys(values) : (written[id] ?? []);
    const pick: Record<string, ParamValue> = {};
    for (const n of names) if (Object.hasOwn(values, n)) pick[n] = values[n]!;
    if (Object.keys(pick).length > 0) out[id] = pick;
  }
  return out;
}

export function restoredText(r: { instruments: { stopped: string[]; restarted: string[]; reconnected: string[] }; devices: Record<string, Record<string, ParamValue>>; modules: string[]; failures: string[] }): string {
  const parts: string[] = [];
  if (r.instruments.stopped.length) parts.push(`stopped ${r.instruments.stopped.join(', ')}`);
  if (r.instruments.restarted.length) parts.push(`restarted ${r.instruments.restarted.join(', ')}`);
  if (r.instruments.reconnected.length) parts.push(`reconnected ${r.instruments.reconnected.join(', ')}`);
  for (const [id, v] of Object.entries(r.devices)) parts.push(`${id} ${Object.entries(v).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ')}`);
  if (r.modules.length) parts.push(`modules ${r.modules.join(', ')}`);
  parts.push('config file not written');
  if (r.failures.length) parts.push(`NOT restored: ${r.failures.join('; ')}`);
  return parts.join('; ');
}
