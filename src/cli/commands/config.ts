/** daqctl reload / sync */
import type { Command } from 'commander';
import type { ReloadStatusView } from '../../client/types.js';
import type { Ctl } from '../daqctl-main.js';
import { formatReload } from '../views/status.js';

export function registerConfigCommands(program: Command, ctl: Ctl): void {
  program
    .command('reload')
    .description('re-read the config file and apply the difference now')
    .option('--status', 'show the outcome of the last reload instead (exit 1 if it failed)')
    .action((o: { status?: boolean }) =>
      o.status
        ? // A script checking "did my edit load?" gets the answer in the exit code.
          ctl.run<ReloadStatusView>('config.reloadStatus', undefined, formatReload, (r) => ({ exitCode: r.outcome === 'failed' ? 1 : 0 }))
        : ctl.run<ReloadStatusView>('config.reload', undefined, formatReload),
    );

  program
    .command('sync')
    .description('write the running config to the file now (after a failed write)')
    .action(() => ctl.run('config.sync', undefined, (r) => (r.written ? `wrote ${r.file} (${r.bytes} bytes)` : `${r.file}: ${r.reason}`)));
}
