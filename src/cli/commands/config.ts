/** daqctl reload / sync */
import type { Command } from 'commander';
import type { ReloadStatusView } from '../../client/types.js';
import type { Ctl } from '../ctl.js';

export function registerConfigCommands(program: Command, ctl: Ctl): void {
  program
    .command('reload')
    .description('re-read the config file and apply the difference now (exit 1 if the file is refused)')
    .option('--status', 'show the outcome of the last reload instead (exit 1 if it failed)')
    .option('--allow-empty', 'apply a file that is empty or removes every instrument (refused otherwise: an editor may save an empty file first)')
    .option('--wait', 'also wait until systemd has been told the reload is over (for ExecReload=)')
    .action(async (o: { status?: boolean; allowEmpty?: boolean; wait?: boolean }) => {
      const { formatReload } = await import('../views/status.js');
      // A script checking "did my edit load?" gets the answer in the exit code.
      if (o.status) {
        await ctl.run<ReloadStatusView>('config.reloadStatus', undefined, formatReload, (r) => ({ exitCode: r.outcome === 'failed' ? 1 : 0 }));
        return;
      }
      const params = { ...(o.allowEmpty ? { allowEmpty: true } : {}), ...(o.wait ? { wait: true } : {}) };
      await ctl.run<ReloadStatusView>('config.reload', Object.keys(params).length ? params : undefined, formatReload);
    });

  program
    .command('sync')
    .description('write the running config to the file now (after a failed write, or to keep memory-only changes)')
    .action(() => ctl.run('config.sync', undefined, (r) => (r.written ? `wrote ${r.file} (${r.bytes} bytes)` : `${r.file}: ${r.reason}`)));
}
