import { DaqError } from '../errors.js';
import type { ModuleTypeDefinition } from './types.js';
import { monitorType } from './types/monitor.js';
import { interlockType } from './types/interlock.js';
import { derivedType } from './types/derived.js';

const all: ModuleTypeDefinition[] = [monitorType, interlockType, derivedType];

export const moduleTypes: ReadonlyMap<string, ModuleTypeDefinition> = new Map(all.map((t) => [t.name, t]));

export function getModuleType(name: string): ModuleTypeDefinition {
  const type = moduleTypes.get(name);
  if (!type) {
    throw new DaqError('validation_failed', `unknown module type "${name}" (known: ${[...moduleTypes.keys()].sort().join(', ')})`);
  }
  return type;
}
