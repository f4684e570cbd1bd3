import type { InstrumentSpec } from '../config/resolve.js';
import type { Capability, RoleDecl } from './types.js';

export interface InstrumentCapabilities {
  readings: Set<string>;
  settable: Set<string>;
}

export function instrumentCapabilities(spec: InstrumentSpec): InstrumentCapabilities {
  return {
    readings: new Set(spec.driver.readings(spec.options).map((r) => r.name)),
    settable: new Set(spec.driver.params(spec.options).filter((p) => p.settable === 'running').map((p) => p.name)),
  };
}

function describeNeed(need: Capability): string {
  return need.kind === 'reading' ? `provides no reading "${need.name}"` : `has no parameter "${need.name}" settable while running`;
}

/** What the instrument lacks for the role, as phrases ("provides no reading "power""); empty = fits. */
export function roleProblems(role: RoleDecl, caps: InstrumentCapabilities): string[] {
  return role.needs
    .filter((need) => (need.kind === 'reading' ? !caps.readings.has(need.name) : !caps.settable.has(need.name)))
    .map(describeNeed);
}
