import type { MethodDef, MethodMap, MethodTable } from './types.js';
import { daemonMethods, plannedMethods } from './daemon.js';
import { instrumentMethods } from './instrument.js';
import { moduleMethods } from './module.js';
import { configMethods } from './config.js';
import { eventMethods } from './events.js';
import { driverMethods } from './drivers.js';
import { txMethods } from './tx.js';
import { dataMethods } from './data.js';
import { versionMethods } from './version.js';
import { historyMethods } from './history.js';
import { scheduleMethods } from './schedule.js';

function methodMap(...tables: MethodTable[]): MethodMap {
  const map = new Map<string, MethodDef>();
  for (const table of tables) {
    for (const [name, def] of Object.entries(table)) {
      // Two files declaring one name would silently shadow each other in an object spread.
      if (map.has(name)) throw new Error(`socket method ${name} is declared twice`);
      map.set(name, def);
    }
  }
  return map;
}

export const methods: MethodMap = methodMap(daemonMethods, instrumentMethods, moduleMethods, configMethods, eventMethods, driverMethods, txMethods, dataMethods, versionMethods, historyMethods, scheduleMethods, plannedMethods);
