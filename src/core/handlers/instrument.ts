/** instrument.add / remove / set. */
import { DaqError, isDaqError } from '../../errors.js';
import { validateParamValue } from '../../drivers/common/params.js';
import { getDriver } from '../../drivers/registry.js';
import type { InstrumentModel } from '../../config/model.js';
import { driverOptionsOf } from '../../config/resolve.js';
import { CONNECTION_KEYS } from '../../config/schema.js';
import type { ParamValue } from '../../drivers/types.js';
import { dependentsOf } from '../../modules/graph.js';
import type { ConfigView } from '../../config/model.js';
import { ownValue, sameValue, setOwn } from '../../config/model.js';
import type { CommandOf, CommandResult } from '../commands.js';
import { specsOf, type Execution } from '../execution.js';

/** Common keys that instrument.set may change live besides the driver's parameters. */
const LIVE_COMMON_KEYS = new Set(['poll_interval_ms']);
/** Connection settings instrument.set may change: the instrument reconnects (only it). `driver` is not one: remove and add. */
const SETTABLE_CONNECTION_KEYS: ReadonlySet<string> = new Set(CONNECTION_KEYS.filter((k) => k !== 'driver'));

export async function addInstrument(x: Execution, cmd: CommandOf<'instrument.add'>): Promise<CommandResult> {
  if (ownValue(x.config.instruments, cmd.id)) {
    throw new DaqError('already_exists', `instrument "${cmd.id}" already exists (remove it first, or use instrument.set to change it)`);
  }
  const table = cmd.config as InstrumentModel;
  if (typeof table.driver === 'string') {
    let driver;
    try {
      driver = getDriver(table.driver);
    } catch (err) {
      // unknown_driver with the known names; say which instrument asked for it.
      if (isDaqError(err)) throw new DaqError(err.kind, `${cmd.id}: ${err.message}`, { details: err.details });
      throw err;
    }
    // Parameter values get the same specific kinds as instrument.set (out_of_range, invalid_params);
    // everything else is checked with the whole config by commit (validation_failed).
    const options = driver.optionsSchema.safeParse(driverOptionsOf(table));
    if (options.success && table.params && typeof table.params === 'object') {
      const decls = new Map(driver.params(options.data).map((d) => [d.name, d]));
      for (const [name, value] of Object.entries(table.params)) {
        const decl = decls.get(name);
        if (!decl) throw new DaqError('invalid_params', `${cmd.id}: driver ${driver.name} has no parameter "${name}" (known: ${[...decls.keys()].join(', ') || 'none'})`);
        validateParamValue(decl, value, cmd.id);
      }
    }
  }
  // A missing device is accepted and retried, as in the file (one rule): the instrument shows
  // `error` with kind port_not_found until it is plugged in; `wait` (daqctl add waits) says so at once.
  const next = x.draftTop();
  const instruments = { ...(next.instruments ?? {}) };
  setOwn(instruments, cmd.id, table);
  next.instruments = instruments as typeof next.instruments;
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `instrument.add ${cmd.id}` });
  return {
    id: cmd.id,
    instrument: x.services.instruments.view(cmd.id),
    persisted: outcome.persisted,
  };
}

export async function removeInstrument(x: Execution, cmd: CommandOf<'instrument.remove'>): Promise<CommandResult> {
  if (!ownValue(x.config.instruments, cmd.id)) throw new DaqError('not_found', `no instrument "${cmd.id}"`);
  const uses = dependentsOf(x.config, cmd.id);
  if (uses.length > 0 && !cmd.force && !cmd.cascade) {
    const list = uses.map((u) => `${u.module} (role ${u.role})`).join(', ');
    throw new DaqError('in_use', `instrument "${cmd.id}" is used by ${list}; unassign it, or remove with force (leaves those modules degraded) or cascade (removes them too)`, {
      details: { instrument: cmd.id, usedBy: uses },
    });
  }
  const next = x.draft();
  delete next.instruments![cmd.id];
  const removedModules: string[] = [];
  const degraded: { module: string; role: string }[] = [];
  for (const use of uses) {
    if (cmd.cascade) {
      if (next.modules?.[use.module]) {
        delete next.modules[use.module];
        removedModules.push(use.module);
      }
    } else {
      delete next.modules![use.module]!.roles![use.role];
      degraded.push({ module: use.module, role: use.role });
    }
  }
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `instrument.remove ${cmd.id}` });
  return {
    removed: cmd.id,
    ...(removedModules.length ? { removedModules } : {}),
    ...(degraded.length ? { unassigned: degraded, note: `modules left degraded: ${[...new Set(degraded.map((d) => d.module))].join(', ')}` } : {}),
    persisted: outcome.persisted,
  };
}

/** What an instrument.set asks of the device and of the config, validated before anything is sent. */
export interface SetPlan {
  /** Values to write to the device (validated: exactly what the driver receives). */
  device: Record<string, ParamValue>;
  /** Connection settings (port, baud_rate, timeout_ms, enabled...): checked with the whole config on commit. */
  connection: Record<string, ParamValue>;
  pollIntervalMs?: number;
  /** Some parameter can only change by reconnecting: the set goes the config path (commit) instead. */
  needsReconnect: boolean;
}

function validPollInterval(id: string, raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 10) {
    throw new DaqError('invalid_params', `${id}: poll_interval_ms must be an integer of at least 10 ms (got ${JSON.stringify(raw)})`);
  }
  return raw;
}

/**
 * Checks an instrument.set against the running config (instrument exists, parameters known and
 * valid) without touching anything. A set is a command to the device: every named value is sent,
 * whether or not the config already holds it.
 */
export function planSet(config: ConfigView, cmd: CommandOf<'instrument.set'>): SetPlan {
  const instruments = config.instruments;
  const table = instruments && Object.hasOwn(instruments, cmd.id) ? instruments[cmd.id] : undefined;
  if (!table) throw new DaqError('not_found', `no instrument "${cmd.id}"`);
  const spec = specsOf(config).get(cmd.id);
  const driver = spec?.driver ?? getDriver(table.driver);
  const options = spec?.options ?? driver.optionsSchema.parse(driverOptionsOf(table));
  const decls = new Map(driver.params(options as never).map((d) => [d.name, d]));
  const plan: SetPlan = { device: {}, connection: {}, needsReconnect: false };
  for (const name of Object.keys(cmd.params)) {
    const raw = cmd.params[name]!;
    if (LIVE_COMMON_KEYS.has(name)) {
      plan.pollIntervalMs = validPollInterval(cmd.id, raw);
      continue;
    }
    if (SETTABLE_CONNECTION_KEYS.has(name)) {
      plan.connection[name] = raw;
      plan.needsReconnect = true;
      continue;
    }
    const decl = decls.get(name);
    if (!decl) {
      const known = [...decls.keys(), ...LIVE_COMMON_KEYS, ...SETTABLE_CONNECTION_KEYS].join(', ');
      throw new DaqError('invalid_params', `${cmd.id}: driver ${driver.name} has no parameter "${name}" (settable: ${known})`);
    }
    plan.device[name] = validateParamValue(decl, raw, cmd.id);
    if (decl.settable !== 'running') plan.needsReconnect = true;
  }
  if (Object.keys(plan.connection).length > 0 && Object.keys(plan.device).length > 0) {
    throw new DaqError(
      'invalid_params',
      `${cmd.id}: set connection settings (${Object.keys(plan.connection).join(', ')}) on their own: they reconnect the instrument, and ${Object.keys(plan.device).join(', ')} must go to the device after that`,
    );
  }
  return plan;
}

/**
 * instrument.record: after the device confirmed a set, the config takes the new setpoint values
 * (and the file, if persisted). Actions are never written: the file must not promise a start-up
 * behaviour daqd will not perform (start-up and reconnect never perform actions). No device I/O.
 */
export async function recordInstrument(x: Execution, cmd: CommandOf<'instrument.record'>): Promise<CommandResult> {
  const instruments = x.config.instruments;
  if (!instruments || !Object.hasOwn(instruments, cmd.id)) {
    return { changed: [], persisted: { written: false, reason: `instrument "${cmd.id}" was removed meanwhile` } };
  }
  const spec = specsOf(x.config).get(cmd.id);
  const decls = new Map((spec ? spec.driver.params(spec.options) : []).map((d) => [d.name, d]));
  const { next, table } = x.draftInstrument(cmd.id);
  const params: Record<string, ParamValue> = { ...(table.params ?? {}) };
  const changed: string[] = [];
  for (const name of Object.keys(cmd.values)) {
    if (decls.get(name)?.kind !== 'setpoint') continue;
    const value = cmd.values[name]!;
    if (Object.hasOwn(params, name) && sameValue(params[name], value)) continue;
    params[name] = value;
    changed.push(name);
  }
  if (cmd.pollIntervalMs !== undefined && table.poll_interval_ms !== cmd.pollIntervalMs) {
    table.poll_interval_ms = cmd.pollIntervalMs;
    changed.push('poll_interval_ms');
  }
  if (changed.length === 0) return { changed, persisted: { written: false, reason: 'no change to the config' } };
  if (Object.keys(params).length > 0) table.params = params;
  const outcome = await x.commit(next, {
    persist: cmd.persist,
    requireLive: false,
    source: `instrument.set ${cmd.id}`,
    applied: { [cmd.id]: cmd.values },
  });
  return { changed, persisted: outcome.persisted };
}

/**
 * The config path of instrument.set: connection settings (port, baud_rate, timeout_ms, enabled...)
 * and parameters a driver can only change by reconnecting. The table changes and only this
 * instrument reconnects; nothing else notices.
 */
export async function setInstrument(x: Execution, cmd: CommandOf<'instrument.set'>): Promise<CommandResult> {
  const plan = planSet(x.config, cmd);
  const { next, table: target } = x.draftInstrument(cmd.id);
  const editable = target as unknown as Record<string, unknown>;
  for (const key of Object.keys(plan.connection)) editable[key] = plan.connection[key];
  if (Object.keys(plan.device).length > 0) target.params = { ...(target.params ?? {}), ...plan.device };
  if (plan.pollIntervalMs !== undefined) target.poll_interval_ms = plan.pollIntervalMs;
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `instrument.set ${cmd.id}` });
  const change = outcome.diff.instruments.changed[cmd.id];
  return {
    id: cmd.id,
    params: outcome.confirmed[cmd.id] ?? {},
    changed: change ? [...Object.keys(change.params), ...Object.keys(plan.connection).filter((k) => !sameValue(ownValue(x.config.instruments, cmd.id)?.[k as never], plan.connection[k]))] : [],
    ...(change?.pollIntervalMs ? { poll_interval_ms: target.poll_interval_ms } : {}),
    ...(change?.reconnect ? { reconnected: true } : {}),
    persisted: outcome.persisted,
  };
}

/** instrument.enable / instrument.disable: `enabled` in the config; the port opens or closes. */
export async function enableInstrument(x: Execution, cmd: CommandOf<'instrument.enable' | 'instrument.disable'>): Promise<CommandResult> {
  const table = ownValue(x.config.instruments, cmd.id);
  if (!table) throw new DaqError('not_found', `no instrument "${cmd.id}"`);
  const enabled = cmd.type === 'instrument.enable';
  // daqd --safe holds every instrument stopped in memory: enable releases it (the file is untouched).
  if (enabled && x.services.instruments.isHeld(cmd.id)) {
    x.services.instruments.release(cmd.id, specsOf(x.config).get(cmd.id));
    x.services.modules.resumeHeld();
    x.services.log.info({ audit: true, command: cmd.type, origin: x.origin, instrument: cmd.id }, `instrument.enable ${cmd.id}: released from safe mode`);
    if (table.enabled ?? true) return { id: cmd.id, enabled, changed: [], released: 'safe mode', persisted: { written: false, reason: 'released from safe mode; the file already enables it' } };
  }
  if ((table.enabled ?? true) === enabled) {
    return { id: cmd.id, enabled, changed: [], persisted: { written: false, reason: `already ${enabled ? 'enabled' : 'disabled'}` } };
  }
  const { next, table: target } = x.draftInstrument(cmd.id);
  target.enabled = enabled;
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `${cmd.type} ${cmd.id}` });
  return { id: cmd.id, enabled, changed: ['enabled'], persisted: outcome.persisted };
}

/** instrument.restart: close the port and connect again with the same settings (no config change). */
export async function restartInstrument(x: Execution, cmd: CommandOf<'instrument.restart'>): Promise<CommandResult> {
  const table = ownValue(x.config.instruments, cmd.id);
  if (!table) throw new DaqError('not_found', `no instrument "${cmd.id}"`);
  const spec = specsOf(x.config).get(cmd.id);
  if (!spec) throw new DaqError('not_found', `no running instrument "${cmd.id}"`);
  if (!spec.enabled) throw new DaqError('not_ready', `${cmd.id} is disabled (enabled = false); enable it instead (daqctl enable ${cmd.id})`);
  x.services.instruments.reconfigure(cmd.id, spec);
  x.services.log.info({ audit: true, command: cmd.type, origin: x.origin, instrument: cmd.id }, `instrument.restart ${cmd.id}: reconnecting`);
  return { id: cmd.id, restarted: true };
}
