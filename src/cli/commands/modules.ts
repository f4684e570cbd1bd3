/** daqctl module ls / add / rm / assign / unassign / reset */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Ctl } from '../daqctl-main.js';
import { literalAssignments, splitAssignment } from '../convert.js';
import { formatValues, table, UsageError } from '../format.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerModuleCommands(program: Command, ctl: Ctl): void {
  const mod = program.command('module').alias('modules').description('modules and their role assignments');

  mod
    .command('ls', { isDefault: true })
    .description('list modules')
    .action(() =>
      ctl.run('module.list', undefined, (r) =>
        table(
          ['ID', 'TYPE', 'STATE', 'ROLES', 'STATUS'],
          r.modules.map((m: any) => [m.id, m.type, m.state + (m.reason ? ` (${m.reason})` : ''), formatValues(m.roles), formatValues(m.status)]),
        ),
      ),
    );

  mod
    .command('add <id>')
    .description('add a module: --type T --role r=instrument --setting k=v, or --toml FILE')
    .option('--type <type>', 'monitor, interlock or derived')
    .option('--role <role=instrument>', 'role assignment (repeatable)', collect)
    .option('--setting <k=v>', 'module setting (repeatable)', collect)
    .option('--toml <file>', 'the module table as TOML')
    .action((id: string, o: { type?: string; role?: string[]; setting?: string[]; toml?: string }) => {
      if (o.toml) return ctl.run('module.add', { id, toml: readFileSync(o.toml, 'utf8') }, (r) => `added module ${r.id} (${r.module?.state})`);
      if (!o.type) throw new UsageError('module add needs --type (or --toml FILE)');
      // Role values are instrument ids: always text, never converted.
      const roles = Object.fromEntries((o.role ?? []).map(splitAssignment));
      const config = { type: o.type, roles, ...literalAssignments(o.setting ?? []) };
      return ctl.run('module.add', { id, config }, (r) => `added module ${r.id} (${r.module?.state})`);
    });

  mod
    .command('rm <id>')
    .description('remove a module')
    .action((id: string) => ctl.run('module.remove', { id }, (r) => `removed module ${r.removed}`));

  mod
    .command('assign <id> <role> <instrument>')
    .description('assign an instrument to a role')
    .action((id: string, role: string, instrument: string) =>
      ctl.run('module.assign', { id, role, instrument }, (r) => `${r.module}.${r.role} = ${r.instrument}${r.replaced ? ` (was ${r.replaced})` : ''}; module ${r.state}`),
    );

  mod
    .command('unassign <id> <role>')
    .description('unassign a role')
    .action((id: string, role: string) => ctl.run('module.unassign', { id, role }, (r) => `${r.module}.${r.role} unassigned (was ${r.unassigned}); module ${r.state}`));

  mod
    .command('reset <id>')
    .description('reset a latched interlock / alarm')
    .action((id: string) => ctl.run('module.reset', { id }, (r) => `${r.module} reset: ${formatValues(r.status)}`));
}
