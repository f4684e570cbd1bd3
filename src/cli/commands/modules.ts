/** daqctl module ls / add / rm / assign / unassign / set / reset */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ModuleView } from '../../client/types.js';
import type { Ctl } from '../ctl.js';
import { UsageError } from '../exit.js';
import { collect } from './options.js';

export function registerModuleCommands(program: Command, ctl: Ctl): void {
  const mod = program.command('module').alias('modules').description('modules and their role assignments');

  mod
    .command('ls', { isDefault: true })
    .description('list modules: state, roles, and a one-line status (trips and alarms first)')
    .action(async () => {
      const { formatModuleList } = await import('../views/modules.js');
      await ctl.run<{ modules: ModuleView[] }>('module.list', undefined, (r) => formatModuleList(r.modules));
    });

  mod
    .command('add <id>')
    .description('add a module: --type T --role r=instrument --setting k=v, or --toml FILE')
    .option('--type <type>', 'monitor, interlock or derived')
    .option('--role <role=instrument>', 'role assignment (repeatable)', collect)
    .option('--setting <k=v>', 'module setting (repeatable)', collect)
    .option('--toml <file>', 'the whole module table as TOML; not with the flags above')
    .action(async (id: string, o: { type?: string; role?: string[]; setting?: string[]; toml?: string }) => {
      const added = (r: { id: string; module?: ModuleView }) => `added module ${r.id} (${r.module?.state})`;
      if (o.toml) {
        const flags = [o.type && '--type', o.role?.length && '--role', o.setting?.length && '--setting'].filter(Boolean);
        if (flags.length > 0) throw new UsageError(`--toml FILE gives the whole module table; ${flags.join(', ')} cannot be combined with it`);
        let toml: string;
        try {
          toml = readFileSync(o.toml, 'utf8');
        } catch (err) {
          throw new UsageError(`cannot read --toml ${o.toml}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        await ctl.run('module.add', { id, toml }, added);
        return;
      }
      if (!o.type) throw new UsageError('module add needs --type (or --toml FILE)');
      const { literalAssignments, splitAssignment } = await import('../convert.js');
      // Role values are instrument ids: always text, never converted.
      const roles = Object.fromEntries((o.role ?? []).map(splitAssignment));
      const config = { type: o.type, roles, ...literalAssignments(o.setting ?? []) };
      await ctl.run('module.add', { id, config }, added);
    });

  mod
    .command('rm <id>')
    .alias('remove')
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
    .command('set <id> <k=v...>')
    .description('change module settings (e.g. above=2e-3 hysteresis=0.5; k= with nothing removes a setting); the module is recreated, a latched interlock stays latched')
    .option('--no-persist', 'change the running daemon only, not the file')
    .action(async (id: string, words: string[], o: { persist: boolean }) => {
      const { literalValue, splitAssignment } = await import('../convert.js');
      const settings: Record<string, unknown> = {};
      for (const word of words) {
        const [key, text] = splitAssignment(word);
        settings[key] = text === '' ? null : literalValue(text);
      }
      await ctl.run<{ module: string; changed: string[]; state?: string }>('module.set', { id, settings, ...(o.persist ? {} : { persist: false }) }, (r) =>
        r.changed.length === 0 ? `${r.module}: no change` : `${r.module}: set ${r.changed.join(', ')}; module ${r.state ?? ''}`.trimEnd(),
      );
    });

  mod
    .command('reset <id>')
    .description('reset a latched interlock / alarm')
    .action(async (id: string) => {
      const { moduleSummary } = await import('../views/modules.js');
      await ctl.run<{ module: string; status: Record<string, unknown>; type?: string }>('module.reset', { id }, (r) => `${r.module} reset: ${moduleSummary({ type: r.type ?? guessType(r.status), status: r.status })}`);
    });
}

/** module.reset answers {module, status} without the type: tell it by the status's shape. */
function guessType(status: Record<string, unknown>): string {
  if (Object.hasOwn(status, 'tripped')) return 'interlock';
  if (Object.hasOwn(status, 'alarm')) return 'monitor';
  if (Object.hasOwn(status, 'output')) return 'derived';
  return 'unknown';
}
