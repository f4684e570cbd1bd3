import type { MethodTable } from './types.js';
import { daemonMethods, plannedMethods } from './daemon.js';
import { instrumentMethods } from './instrument.js';
import { moduleMethods } from './module.js';
import { configMethods } from './config.js';
import { eventMethods } from './events.js';

export const methods: MethodTable = {
  ...daemonMethods,
  ...instrumentMethods,
  ...moduleMethods,
  ...configMethods,
  ...eventMethods,
  ...plannedMethods,
};
