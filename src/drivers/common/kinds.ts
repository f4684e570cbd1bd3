/**
 * Setpoints and actions (issue #15): what a driver may do at start-up. init() restores the
 * setpoints it is given and nothing else; an action (a move, the shutter, emission) is performed
 * only when someone asks while daqd runs, never because it appears in the config.
 */
import type { ParamDecl, ParamValue } from '../types.js';

/**
 * The setpoints among `params`, in declaration order (the order a driver's init applies them).
 * Actions are left out even if present: the core already filters them, and a driver must not
 * move, open or emit at start-up whatever it is handed.
 */
export function setpointsToRestore(decls: readonly ParamDecl[], params: Readonly<Record<string, ParamValue>>): [string, ParamValue][] {
  const out: [string, ParamValue][] = [];
  for (const decl of decls) {
    if (decl.kind !== 'setpoint' || !Object.hasOwn(params, decl.name)) continue;
    out.push([decl.name, params[decl.name]!]);
  }
  return out;
}
