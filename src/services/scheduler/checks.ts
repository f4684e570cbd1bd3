/**
 * What a schedule may ask of an instrument, checked against the driver's declarations when the
 * schedule is added and again before each step (the instrument may have been missing, or
 * reconfigured, when it was added). Kept apart from the scheduler's bookkeeping: these are the
 * refusals a person sees (`not_found`, `invalid_params`, `out_of_range`).
 */
import type { ConfigView } from '../../config/model.js';
import type { ParamValue } from '../../drivers/types.js';
import { DaqError } from '../../errors.js';
import type { ScheduleSpec } from './spec.js';

/** A parameter's declaration as the daemon shows it (Daemon.parameterViews). */
export interface ParamDeclView {
  name: string;
  type: string;
  kind?: string;
  min?: number;
  max?: number;
  values?: readonly (string | number)[];
}

/** Refuse what the driver's declaration refuses (when the instrument is running; else at each step). */
export function checkSpec(spec: ScheduleSpec, config: ConfigView, decls: readonly ParamDeclView[]): void {
  const instruments = (config.instruments ?? {}) as Record<string, unknown>;
  if (!Object.hasOwn(instruments, spec.instrument)) throw new DaqError('not_found', `no instrument "${spec.instrument}"`);
  if (spec.type === 'when' && spec.source !== undefined && !Object.hasOwn(instruments, spec.source)) throw new DaqError('not_found', `no instrument "${spec.source}" (source)`);
  if (spec.param === 'poll_interval_ms') {
    if (spec.type === 'ramp') throw new DaqError('invalid_params', 'poll_interval_ms cannot be ramped');
    return;
  }
  if (decls.length === 0) return; // not connected yet: checked at each step
  const decl = decls.find((d) => d.name === spec.param);
  if (!decl) throw new DaqError('invalid_params', `${spec.instrument} has no settable parameter "${spec.param}" (have: ${decls.map((d) => d.name).join(', ')})`);
  if (spec.type === 'ramp') {
    if (decl.type !== 'number' && decl.type !== 'integer') throw new DaqError('invalid_params', `${spec.param} is ${decl.type}: only numbers can be ramped`);
    if (decl.kind === 'action') throw new DaqError('invalid_params', `${spec.param} is an action: it cannot be ramped`);
    return;
  }
  checkValue(decl, spec.value!);
}

/** A value against its declaration: type, range, enum (always `out_of_range`, as schedules have said). */
export function checkValue(decl: ParamDeclView, v: ParamValue): void {
  if (decl.type === 'number' || decl.type === 'integer') {
    if (typeof v !== 'number' || (decl.type === 'integer' && !Number.isInteger(v))) throw new DaqError('out_of_range', `${decl.name} takes ${decl.type === 'integer' ? 'an integer' : 'a number'}, not ${JSON.stringify(v)}`);
    if ((decl.min !== undefined && v < decl.min) || (decl.max !== undefined && v > decl.max)) throw new DaqError('out_of_range', `${decl.name} = ${v} is outside ${decl.min ?? '-inf'}..${decl.max ?? 'inf'}`);
  } else if (decl.type === 'boolean' && typeof v !== 'boolean') throw new DaqError('out_of_range', `${decl.name} takes true or false`);
  else if (decl.type === 'enum' && !decl.values?.includes(v as string | number)) throw new DaqError('out_of_range', `${decl.name} takes one of ${decl.values?.join(', ')}`);
}
