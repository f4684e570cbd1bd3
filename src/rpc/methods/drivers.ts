import { dirname } from 'node:path';
import { z } from 'zod';
import { describeDriver, listDrivers } from '../../drivers/describe.js';
import { listPorts } from '../../transport/port-listing.js';
import { canonicalPort, parsePortAddress } from '../../config/port-path.js';
import { DaqError } from '../../errors.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';

const isSim = (port: string) => port === 'sim' || port.startsWith('sim:');

export const driverMethods: MethodTable = {
  'drivers.list': {
    description: 'The drivers daqd knows: name, description, serial defaults, multidrop.',
    params: z.object({}).strict().optional(),
    result: z.looseObject({ drivers: z.array(R.driverSummary) }),
    handler: () => ({ drivers: listDrivers() }),
  },
  'drivers.get': {
    description: 'One driver: its parameters (type, unit, range, setpoint or action, read back) and readings (type, unit).',
    params: z.object({ name: z.string().min(1).max(64) }).strict(),
    result: R.driverDetail,
    handler: (p) => describeDriver(p.name),
  },
  'ports.list': {
    description:
      'Serial ports: path, /dev/serial/by-id name, USB vendor/product id, serial number, manufacturer, and which instrument uses it (configured ports that are not hardware ttys, e.g. ptys, are listed too; so are configured tcp://host:port ports, kind "tcp").',
    params: z.object({}).strict().optional(),
    result: z.looseObject({ ports: z.array(R.portEntry) }),
    handler: (_p, { daemon }) => {
      const configured = new Map<string, string>();
      for (const i of daemon.listInstruments()) if (!isSim(i.port)) configured.set(i.id, i.port);
      return { ports: listPorts(configured, dirname(daemon.configPath)) };
    },
  },
  'ports.probe': {
    description:
      'Connect to tcp://host:port, send *IDN? and return the answer ({address, idn, connectMs, replyMs}); explicit only (daqd never probes by itself). Refused for non-tcp addresses and for an address a running instrument holds.',
    params: z
      .object({
        address: z.string().min(1).max(300),
        timeoutMs: z.number().int().min(10).max(30_000).optional(),
        terminator: z.string().min(1).max(4).optional(),
      })
      .strict(),
    handler: async (p, { daemon }) => {
      let address;
      try {
        address = parsePortAddress(p.address);
      } catch (err) {
        throw new DaqError('invalid_params', (err as Error).message, { details: { address: p.address } });
      }
      if (address.kind !== 'tcp') {
        throw new DaqError('invalid_params', `ports.probe takes a tcp://host:port address (got ${JSON.stringify(p.address)}); serial ports are listed by ports.list`, {
          details: { address: p.address },
        });
      }
      // Many instruments take one connection at a time: a probe must not knock a running one off.
      const holders = daemon
        .listInstruments()
        .filter((i) => i.state !== 'stopped' && i.state !== 'disabled' && canonicalPort(i.port) === address.spec)
        .map((i) => i.id);
      if (holders.length > 0) {
        throw new DaqError('in_use', `${address.spec} is in use by ${holders.join(', ')} (many instruments accept one connection at a time); daqctl get ${holders[0]} shows what it answers`, {
          details: { address: address.spec, instruments: holders },
        });
      }
      const { probeTcp } = await import('../../transport/tcp-probe.js');
      return probeTcp(address, { timeoutMs: p.timeoutMs, terminator: p.terminator });
    },
  },
};
