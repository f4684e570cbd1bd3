import type { InstrumentSpec } from '../config/resolve.js';
import type { Capability, RoleDecl } from './types.js';
import type { ParamDecl } from '../drivers/types.js';
import { validateParamValue } from '../drivers/common/params.js';
import { describeError } from '../errors.js';

export interface InstrumentCapabilities {
  readings: Set<string>;
  settable: Map<string, ParamDecl>;
}

export function instrumentCapabilities(spec: InstrumentSpec): InstrumentCapabilities {
  return {
    readings: new Set(spec.driver.readings(spec.options).map((r) => r.name)),
    settable: new Map(spec.driver.params(spec.options).filter((p) => p.settable === 'running').map((p) => [p.name, p])),
  };
}

function problemWith(need: Capability, caps: InstrumentCapabilities): string | undefined {
  if (need.kind === 'reading') return caps.readings.has(need.name) ? undefined : `provides no reading "${need.name}"`;
  const decl = caps.settable.get(need.name);
  if (!decl) return `has no parameter "${need.name}" settable while running`;
  if (need.value === undefined) return undefined;
  try {
    validateParamValue(decl, need.value);
    return undefined;
  } catch (err) {
    // Caught at assignment, not when a safety module first acts.
    return `cannot take ${JSON.stringify(need.value)} for "${need.name}" (${describeError(err)})`;
  }
}

/** What the instrument lacks for the role, as phrases ("provides no reading "power""); empty = fits. */
export function roleProblems(role: RoleDecl, caps: InstrumentCapabilities): string[] {
  return role.needs.map((need) => problemWith(need, caps)).filter((p): p is string => p !== undefined);
}
