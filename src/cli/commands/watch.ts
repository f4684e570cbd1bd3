/** daqctl watch [ID...]: live readings, states, alarms and trips (the work is in ../watch/, loaded when it runs). */
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';
import { collect } from './options.js';

export function registerWatchCommand(program: Command, ctl: Ctl): void {
  program
    .command('watch [ids...]')
    .description('live readings, instrument states, module alarms and trips until q or Ctrl-C (JSON lines off a terminal or with --events)')
    .option('--events', 'print each event as a JSON line instead of the table')
    .option('--module <id>', 'only these modules (repeatable, or comma-separated)', collect)
    .option('--type <types>', 'only these event types, e.g. reading,module.,instrument.state (prefixes; repeatable)', collect)
    .option('--plot', 'a sparkline per numeric reading over the last minute, with min/max/last and units')
    .action(async (ids: string[], o: { events?: boolean; module?: string[]; type?: string[]; plot?: boolean }) => {
      if (o.plot) {
        const { runPlot } = await import('./plot.js');
        return runPlot(ctl, { ids });
      }
      const { runWatch } = await import('../watch/session.js');
      await runWatch(ctl, { ids, ...o });
    });
}
