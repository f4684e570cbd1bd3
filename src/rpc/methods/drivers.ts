import { dirname } from 'node:path';
import { z } from 'zod';
import { describeDriver, listDrivers } from '../../drivers/describe.js';
import { listPorts } from '../../transport/port-listing.js';
import type { MethodTable } from './types.js';

const isSim = (port: string) => port === 'sim' || port.startsWith('sim:');

export const driverMethods: MethodTable = {
  'drivers.list': {
    description: 'The drivers daqd knows: name, description, serial defaults, multidrop.',
    params: z.object({}).strict().optional(),
    handler: () => ({ drivers: listDrivers() }),
  },
  'drivers.get': {
    description: 'One driver: its parameters (type, unit, range, setpoint or action, read back) and readings (type, unit).',
    params: z.object({ name: z.string().min(1).max(64) }).strict(),
    handler: (p) => describeDriver(p.name),
  },
  'ports.list': {
    description:
      'Serial ports: path, /dev/serial/by-id name, USB vendor/product id, serial number, manufacturer, and which instrument uses it (configured ports that are not hardware ttys, e.g. ptys, are listed too).',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => {
      const configured = new Map<string, string>();
      for (const i of daemon.listInstruments()) if (!isSim(i.port)) configured.set(i.id, i.port);
      return { ports: listPorts(configured, dirname(daemon.configPath)) };
    },
  },
};
