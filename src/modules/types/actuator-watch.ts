/**
 * Whether an interlock can supervise its actuator through the actuator's readings, and whether a
 * reading shows the parameter at the safe value.
 *
 * A reading is the signal because it covers every way the parameter can move away from the safe
 * value (a person's `instrument.set`, a script, the device's front panel where the driver asks the
 * device), not only changes made through daqd. It works only where the driver reports a reading
 * with the parameter's name and type; where it does not, the interlock says so instead of
 * pretending to watch.
 */
import type { ParamValue, ReadingDecl } from '../../drivers/types.js';

export type Supervision = { supervised: true; note: string } | { supervised: false; note: string };

export interface WatchSettings {
  parameter: string;
  value: ParamValue;
  tolerance?: number | undefined;
  reassert: boolean;
}

/**
 * What the interlock can see of `actuator.parameter`. `declared` is the actuator's declared
 * readings (undefined when they are not known: then the readings themselves decide).
 */
export function supervisionOf(s: WatchSettings, actuator: string | undefined, declared: readonly ReadingDecl[] | undefined): Supervision {
  const target = `${actuator ?? '(no actuator)'}.${s.parameter}`;
  if (!s.reassert) return { supervised: false, note: `not supervised: reassert = false, so ${target} is set once per trip and not watched` };
  if (actuator === undefined) return { supervised: false, note: 'not supervised: no instrument is assigned to the actuator role' };
  if (declared === undefined) return { supervised: true, note: `watching ${target} in the actuator's readings` };
  const decl = declared.find((r) => r.name === s.parameter);
  if (!decl) {
    return {
      supervised: false,
      note: `cannot supervise: ${actuator} provides no reading "${s.parameter}", so a change back while tripped is not seen`,
    };
  }
  if (decl.type !== typeof s.value) {
    return {
      supervised: false,
      note: `cannot supervise: ${actuator}'s reading "${s.parameter}" is a ${decl.type}, the safe value ${formatParam(s.value)} is a ${typeof s.value}`,
    };
  }
  return { supervised: true, note: `watching ${target} in the actuator's readings` };
}

/** Whether a reading of the parameter shows the safe value (numbers within `tolerance`, default exact). */
export function atSafeValue(s: WatchSettings, actual: ParamValue): boolean {
  if (typeof s.value === 'number') return typeof actual === 'number' && Math.abs(actual - s.value) <= (s.tolerance ?? 0);
  return actual === s.value;
}

export function formatParam(value: ParamValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
