/** daqctl drivers [ls] / drivers show NAME / ports. */
import type { Command } from 'commander';
import type { DriverDescription, DriverSummary, PortView } from '../../client/types.js';
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
    .description('serial ports: path, by-id name, USB vendor:product, serial number, manufacturer, which instrument uses it')
    .action(async () => {
      const { formatPorts } = await import('../views/drivers.js');
      await ctl.run<{ ports: PortView[] }>('ports.list', undefined, (r) => formatPorts(r.ports));
    });
}
