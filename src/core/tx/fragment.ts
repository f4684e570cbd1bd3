/**
 * `daqctl apply FILE.toml`: a whole config, or a fragment of one, turned into the staged
 * operations that take the running config there (one transaction).
 * - Fragment: every table in it is added, or changed to match; nothing else is touched.
 * - Whole (`whole: true`): also removes the instruments and modules the file does not have.
 * A changed driver, driver option or other non-settable key is a remove + add of that instrument.
 */
import { parseToml } from '../../config/load.js';
import { isTable, ownValue, sameValue, type ConfigView } from '../../config/model.js';
import { CONNECTION_KEYS } from '../../config/schema.js';
import { DaqError } from '../../errors.js';
import type { ParamValue } from '../../drivers/types.js';
import type { StagedCommand } from './types.js';

const SETTABLE_CONNECTION = new Set<string>(CONNECTION_KEYS.filter((k) => k !== 'driver'));
const MODULE_FIXED = new Set(['type', 'roles', 'enabled']);

export function opsFromToml(running: ConfigView, toml: string, whole: boolean): StagedCommand[] {
  const parsed = parseToml(toml);
  if ('issue' in parsed) throw new DaqError('invalid_params', `toml, line ${parsed.issue.line ?? '?'}: ${parsed.issue.message}`);
  const doc = parsed.model as Record<string, unknown>;
  const unknown = Object.keys(doc).filter((k) => k !== 'instruments' && k !== 'modules' && k !== 'application');
  if (unknown.length > 0) throw new DaqError('invalid_params', `toml: unknown top-level table(s) ${unknown.join(', ')} (instruments, modules)`);
  if (doc.application !== undefined && !sameValue(doc.application, running.application ?? {})) {
    throw new DaqError('invalid_params', 'toml: [application] settings are not changed by a transaction; edit the config file for those');
  }
  const ops: StagedCommand[] = [];
  const wantI = (isTable(doc.instruments) ? doc.instruments : {}) as Record<string, Record<string, unknown>>;
  const wantM = (isTable(doc.modules) ? doc.modules : {}) as Record<string, Record<string, unknown>>;
  const haveI = (running.instruments ?? {}) as Record<string, Record<string, unknown>>;
  const haveM = (running.modules ?? {}) as Record<string, Record<string, unknown>>;

  // Modules that go away first (they may use instruments that go away).
  if (whole) for (const id of Object.keys(haveM)) if (!Object.hasOwn(wantM, id)) ops.push({ type: 'module.remove', id });
  const replacedModules = new Set<string>();
  for (const [id, want] of Object.entries(wantM)) {
    const have = ownValue(haveM, id);
    if (!have || sameValue(have, want)) continue;
    if (have.type !== want.type || have.enabled !== want.enabled) {
      ops.push({ type: 'module.remove', id });
      replacedModules.add(id);
    }
  }
  const removedInstruments: string[] = [];
  if (whole) for (const id of Object.keys(haveI)) if (!Object.hasOwn(wantI, id)) removedInstruments.push(id);

  for (const [id, want] of Object.entries(wantI)) {
    const have = ownValue(haveI, id);
    if (!have) {
      ops.push({ type: 'instrument.add', id, config: want });
      continue;
    }
    if (sameValue(have, want)) continue;
    const keys = new Set([...Object.keys(have), ...Object.keys(want)]);
    const fixed = [...keys].filter((k) => k !== 'params' && k !== 'poll_interval_ms' && !SETTABLE_CONNECTION.has(k) && !sameValue(have[k], want[k]));
    const pa = (isTable(have.params) ? have.params : {}) as Record<string, ParamValue>;
    const pb = (isTable(want.params) ? want.params : {}) as Record<string, ParamValue>;
    const dropped = Object.keys(pa).filter((k) => !Object.hasOwn(pb, k));
    const connection = [...SETTABLE_CONNECTION].filter((k) => !sameValue(have[k], want[k]));
    if (fixed.length > 0 || dropped.length > 0 || connection.some((k) => want[k] === undefined)) {
      // Not expressible as sets: replace the instrument (its modules keep their roles: force).
      ops.push({ type: 'instrument.remove', id, force: true });
      ops.push({ type: 'instrument.add', id, config: want });
      continue;
    }
    if (connection.length > 0) ops.push({ type: 'instrument.set', id, params: Object.fromEntries(connection.map((k) => [k, want[k] as ParamValue])) });
    const params: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(pb)) if (!sameValue(pa[k], v)) params[k] = v;
    if (!sameValue(have.poll_interval_ms, want.poll_interval_ms) && want.poll_interval_ms !== undefined) params.poll_interval_ms = want.poll_interval_ms as number;
    if (Object.keys(params).length > 0) ops.push({ type: 'instrument.set', id, params });
  }

  for (const [id, want] of Object.entries(wantM)) {
    const have = ownValue(haveM, id);
    if (!have || replacedModules.has(id)) {
      ops.push({ type: 'module.add', id, config: want });
      continue;
    }
    if (sameValue(have, want)) continue;
    const settings: Record<string, unknown> = {};
    for (const k of new Set([...Object.keys(have), ...Object.keys(want)])) {
      if (MODULE_FIXED.has(k) || sameValue(have[k], want[k])) continue;
      settings[k] = want[k] === undefined ? null : want[k];
    }
    if (Object.keys(settings).length > 0) ops.push({ type: 'module.set', id, settings });
    const ra = (isTable(have.roles) ? have.roles : {}) as Record<string, string>;
    const rb = (isTable(want.roles) ? want.roles : {}) as Record<string, string>;
    for (const role of Object.keys(ra)) if (!Object.hasOwn(rb, role)) ops.push({ type: 'module.unassign', id, role });
    for (const [role, inst] of Object.entries(rb)) if (ra[role] !== inst) ops.push({ type: 'module.assign', id, role, instrument: inst });
  }
  // Instruments removed last: nothing refers to them any more (whole file), or force (their modules degrade).
  for (const id of removedInstruments) ops.push({ type: 'instrument.remove', id, force: true });
  return ops;
}
