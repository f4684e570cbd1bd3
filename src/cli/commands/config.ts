/** daqctl reload / sync */
import type { Command } from 'commander';
import type { Ctl } from '../daqctl-main.js';

function describeReload(r: any): string {
  if (r.outcome === 'failed') {
    const errs = (r.errors ?? []).map((e: any) => `  ${e.line !== undefined ? `line ${e.line}: ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}`);
    return [`reload failed at ${r.at}; the running config is unchanged:`, ...errs].join('\n');
  }
  if (r.outcome === 'never') return 'no reload yet';
  return `${r.outcome}${r.at ? ` at ${r.at}` : ''}${r.durationMs !== undefined ? ` in ${r.durationMs} ms` : ''}${r.source ? ` (${r.source})` : ''}: ${r.summary ?? r.reason ?? ''}`;
}

export function registerConfigCommands(program: Command, ctl: Ctl): void {
  program
    .command('reload')
    .description('re-read the config file and apply the difference now')
    .option('--status', 'show the outcome of the last reload instead')
    .action((o: { status?: boolean }) =>
      o.status ? ctl.run('config.reloadStatus', undefined, describeReload) : ctl.run('config.reload', undefined, describeReload),
    );

  program
    .command('sync')
    .description('write the running config to the file now (after a failed write)')
    .action(() => ctl.run('config.sync', undefined, (r) => (r.written ? `wrote ${r.file} (${r.bytes} bytes)` : `${r.file}: ${r.reason}`)));
}
