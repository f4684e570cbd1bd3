/** daqctl drivers [ls] / drivers show NAME / ports / probe tcp://HOST:PORT. */
import type { Command } from 'commander';
import type { DriverDescription, DriverSummary, PortView, ProbeView } from '../../client/types.js';
import type { Ctl } from '../ctl.js';

export function registerDriverCommands(program: Command, ctl: Ctl): void {
  const drivers = program.command('drivers').alias('driver').description('the drivers daqd knows, and one driver\'s parameters and readings');

  drivers
    .command('ls', { isDefault: true })
    .description('list drivers: serial settings, whether instruments share a bus, description')
    .action(async () => {
      const { formatDriverList } = await import('../views/drivers.js');
      await ctl.run<{ drivers: DriverSummary[] }>('drivers.list', undefined, (r) => formatDriverList(r.drivers));
    });

  drivers
    .command('show <name>')
    .description('one driver: parameters (kind, type, unit, range, read back) and readings (type, unit)')
    .action(async (name: string) => {
      const { formatDriver } = await import('../views/drivers.js');
      await ctl.run<DriverDescription>('drivers.get', { name }, (d) => formatDriver(d));
    });

  program
    .command('ports')
    .description('serial ports (path, by-id name, USB vendor:product, serial number, manufacturer) and configured tcp:// ports, with the instruments using each')
    .action(async () => {
      const { formatPorts } = await import('../views/drivers.js');
      await ctl.run<{ ports: PortView[] }>('ports.list', undefined, (r) => formatPorts(r.ports));
    });

  program
    .command('probe <address>')
    .description('connect to tcp://HOST:PORT, send *IDN? and print the answer (only when you ask; daqd never probes by itself)')
    .option('--timeout <ms>', 'connect and reply timeout, each (default 2000)', (v) => Number(v))
    .option('--terminator <text>', 'line terminator: \\n (default), \\r\\n or \\r')
    .action(async (address: string, opts: { timeout?: number; terminator?: string }) => {
      const terminator = opts.terminator?.replace(/\\r/g, '\r').replace(/\\n/g, '\n');
      await ctl.run<ProbeView>(
        'ports.probe',
        { address, ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout } : {}), ...(terminator ? { terminator } : {}) },
        (r) => `${r.address}: ${r.idn}  (connected in ${r.connectMs} ms, answered in ${r.replyMs} ms)`,
      );
    });
}
