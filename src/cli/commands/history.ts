/**
 * daqctl history [--instrument ID] [--param P] [--source S] [--from T] [--to T] [--limit N]
 * [--before ID], daqctl revert CHANGE [--with-actions]: the change history (issue #22, docs/history.md).
 */
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';
import { table } from '../format.js';
import { UsageError } from '../exit.js';

interface Entry {
  id: string;
  time: string;
  revision: number;
  instrument: string;
  param: string;
  old?: unknown;
  new: unknown;
  source: string;
  sourceId?: string;
  note?: string;
}

const show = (v: unknown) => (v === undefined ? '?' : typeof v === 'string' ? JSON.stringify(v) : String(v));

export function registerHistoryCommands(program: Command, ctl: Ctl): void {
  program
    .command('history')
    .description('parameter changes, newest first: who changed what, when, from what to what')
    .option('--instrument <id>', 'only this instrument')
    .option('--param <name>', 'only this parameter')
    .option('--source <source>', 'only this source (socket, schedule, schedule:ramp1, tx, watcher, history...)')
    .option('--from <time>', 'from this time (ISO)')
    .option('--to <time>', 'until this time (ISO)')
    .option('--limit <n>', 'at most N changes (default 50)')
    .option('--before <change>', 'changes older than this one (the next page)')
    .action((o: { instrument?: string; param?: string; source?: string; from?: string; to?: string; limit?: string; before?: string }) => {
      const limit = o.limit === undefined ? 50 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${o.limit}" is not a positive whole number`);
      const params = { ...o, limit };
      return ctl.run<{ entries: Entry[]; next?: string }>('history.list', params, (r) => {
        if (r.entries.length === 0) return 'no changes';
        const rows = r.entries.map((e) => [e.id, e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), `${e.instrument}.${e.param}`, `${show(e.old)} -> ${show(e.new)}`, e.sourceId ? `${e.source}:${e.sourceId}` : e.source, e.note ?? '']);
        const out = [table(['CHANGE', 'TIME', 'PARAMETER', 'VALUE', 'SOURCE', 'NOTE'], rows)];
        if (r.next) out.push(`(more: daqctl history --before ${r.next})`);
        return out.join('\n');
      });
    });

  program
    .command('revert <change>')
    .description('set a change\'s old value back (through the device, recorded in the history)')
    .option('--with-actions', 'also revert an action (performs it again)')
    .action((change: string, o: { withActions?: boolean }) =>
      ctl.run<{ id: string; params: Record<string, unknown>; reverted: string }>('history.revert', { change, ...(o.withActions ? { withActions: true } : {}) }, (r) => `reverted ${r.reverted}: ${r.id} ${Object.entries(r.params).map(([k, v]) => `${k}=${show(v)}`).join(' ')}`),
    );
}
