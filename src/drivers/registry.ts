/**
 * Every driver daqd knows, by the `driver = "..."` name used in the config. Adding a driver means
 * adding one import and one entry here.
 */
import { DaqError } from '../errors.js';
import type { DriverDefinition } from './types.js';
import { driver as newport1830c } from './newport_1830c/index.js';
import { driver as scpi } from './scpi/index.js';

const all: DriverDefinition[] = [newport1830c, scpi];

export const drivers: ReadonlyMap<string, DriverDefinition> = new Map(all.map((d) => [d.name, d]));

export function getDriver(name: string): DriverDefinition {
  const found = drivers.get(name);
  if (!found) {
    throw new DaqError('unknown_driver', `unknown driver "${name}" (known drivers: ${[...drivers.keys()].sort().join(', ')})`, {
      details: { driver: name, known: [...drivers.keys()].sort() },
    });
  }
  return found;
}
