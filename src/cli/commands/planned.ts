/** Contract commands whose daemon side comes in a later milestone: they reach daqd and report that. (tx: commands/tx.ts.) */
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';
import { toJson } from '../ctl.js';

export function registerPlannedCommands(program: Command, ctl: Ctl): void {
  const show = (r: unknown) => toJson(r);
  program.command('snapshot').description('create a config snapshot (planned)').action(() => ctl.run('version.create', undefined, show));
  program.command('versions').description('list config snapshots (planned)').action(() => ctl.run('version.list', undefined, show));
  program.command('rollback <version>').description('roll back to a snapshot (planned)').action((version: string) => ctl.run('version.rollback', { version }, show));
  program.command('diff <a> [b]').description('compare snapshots (planned)').action((a: string, b?: string) => ctl.run('version.diff', { a, b }, show));
}
