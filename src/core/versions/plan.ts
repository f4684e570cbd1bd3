/**
 * What a rollback to a version does (issue #19), computed without touching a device: the target
 * config validated, the difference from the running config as a transaction plan, the actions the
 * snapshot holds that would happen (performed only with `withActions`), and the device values put
 * back where a device drifted from a setpoint the config keeps.
 */
import { parseToml } from '../../config/load.js';
import { configInvalid, type ConfigIssue } from '../../config/issues.js';
import { ownValue, sameValue, type ConfigModel, type ConfigView } from '../../config/model.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import { validateConfig } from '../../config/validate.js';
import type { ParamValue } from '../../drivers/types.js';
import { diffConfigs } from '../apply/diff.js';
import { planOf, type TxPlan } from '../tx/plan.js';
import type { Replayed } from '../tx/stage.js';

/** What the plan needs from the instruments (cached values only: no device I/O). */
export interface DeviceValues {
  deviceValue(id: string, name: string): ParamValue | undefined;
  isReady(id: string): boolean;
}

export interface RollbackPlan {
  target: ConfigModel;
  specs: ReadonlyMap<string, InstrumentSpec>;
  writes: Replayed['writes'];
  applied: Record<string, Record<string, ParamValue>>;
  plan: TxPlan & {
    /** Actions the snapshot holds that differ from the device: performed only with withActions. */
    actions: Record<string, Record<string, ParamValue>>;
    actionsPerformed: boolean;
    /** Setpoints the config keeps but a device drifted from: set back. */
    drift: Record<string, Record<string, ParamValue>>;
  };
}

/** The snapshot's text as a config, or refused with every reason (`validation_failed`). */
export function targetOf(label: string, text: string): { target: ConfigModel; specs: ReadonlyMap<string, InstrumentSpec> } {
  const parsed = parseToml(text);
  if ('issue' in parsed) throw configInvalid(label, [parsed.issue]);
  const { issues, specs } = validateConfig(parsed.model, text);
  if (issues.length > 0) throw noLongerValid(label, issues);
  return { target: parsed.model, specs };
}

function noLongerValid(label: string, issues: ConfigIssue[]) {
  const err = configInvalid(label, issues);
  err.message = `${label} no longer validates, so it cannot be rolled back to: ${err.message}`;
  return err;
}

export function planRollback(running: ConfigView, label: string, text: string, devices: DeviceValues, withActions: boolean): RollbackPlan {
  const { target, specs } = targetOf(label, text);
  const diff = diffConfigs(running, target, specs);
  const writes: Replayed['writes'] = {};
  const applied: Record<string, Record<string, ParamValue>> = {};
  const actions: Record<string, Record<string, ParamValue>> = {};
  const drift: Record<string, Record<string, ParamValue>> = {};
  const write = (id: string, name: string, value: ParamValue, kind: 'setpoint' | 'action') => {
    const w = (writes[id] ??= { values: {}, kinds: {}, ops: [] });
    w.values[name] = value;
    w.kinds[name] = kind;
  };
  for (const [id, spec] of specs) {
    if (spec.enabled === false) continue;
    const before = ownValue(running.instruments, id);
    const change = diff.instruments.changed[id];
    const fresh = !before || change?.reconnect === true;
    const params = (target.instruments?.[id]?.params ?? {}) as Record<string, ParamValue>;
    const configured = (before?.params ?? {}) as Readonly<Record<string, ParamValue>>;
    for (const decl of spec.driver.params(spec.options)) {
      if (!Object.hasOwn(params, decl.name) || decl.settable !== 'running') continue;
      const value = params[decl.name]!;
      const device = fresh ? undefined : devices.deviceValue(id, decl.name);
      if (decl.kind === 'action') {
        // The config takes the snapshot's value; the device is told only with withActions.
        if (change && !change.reconnect && Object.hasOwn(change.params, decl.name)) (applied[id] ??= {})[decl.name] = value;
        const differs = device !== undefined ? !sameValue(device, value) : fresh || !sameValue(configured[decl.name], value);
        if (!differs) continue;
        (actions[id] ??= {})[decl.name] = value;
        if (withActions) write(id, decl.name, value, 'action');
        continue;
      }
      // A setpoint the config already holds but the device drifted from: put back (device truth).
      if (fresh || (change && Object.hasOwn(change.params, decl.name))) continue;
      if (device !== undefined && devices.isReady(id) && !sameValue(device, value)) {
        (drift[id] ??= {})[decl.name] = value;
        write(id, decl.name, value, 'setpoint');
      }
    }
  }
  const staged: Replayed = { config: target, writes, problems: [], touchedBy: new Map() };
  const { plan } = planOf(running, staged, specs);
  return { target, specs, writes, applied, plan: { ...plan, actions, actionsPerformed: withActions, drift } };
}
