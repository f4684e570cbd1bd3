/**
 * Every driver daqd knows, by the `driver = "..."` name used in the config. Adding a driver means
 * adding one import and one entry here.
 */
import { DaqError } from '../errors.js';
import type { DriverDefinition } from './types.js';
import { driver as newport1830c } from './newport_1830c/index.js';
import { driver as scpi } from './scpi/index.js';
import { esp300Driver } from './esp300/index.js';
import { maitaiDriver } from './maitai/index.js';
import { ell14Driver } from './ell14/index.js';
import { modbusRtuDriver } from './modbus_rtu/index.js';

const all: DriverDefinition[] = [newport1830c, scpi, esp300Driver, maitaiDriver, ell14Driver, modbusRtuDriver];

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
