/** daqctl watch [id...]: live readings, as an updating table on a terminal, JSON lines otherwise. */
import type { Command } from 'commander';
import type { Ctl } from '../daqctl-main.js';
import { formatValues, table } from '../format.js';

export function registerWatchCommand(program: Command, ctl: Ctl): void {
  program
    .command('watch [ids...]')
    .description('live readings and state changes (Ctrl-C to stop)')
    .option('--events', 'print every event as it comes instead of a table')
    .action(async (ids: string[], o: { events?: boolean }) => {
      const client = await ctl.connect();
      const filter = ids.length > 0 ? { instruments: ids } : {};
      const rows = new Map<string, { state: string; seq: number | string; ts: string; values: string }>();
      const list = await client.call('instrument.list');
      for (const i of list.instruments) {
        if (ids.length && !ids.includes(i.id)) continue;
        rows.set(i.id, { state: i.state, seq: i.lastReading?.seq ?? '-', ts: i.lastReading?.ts ?? '-', values: formatValues(i.lastReading?.values) });
      }
      const asTable = process.stdout.isTTY && !ctl.json && !o.events;
      const draw = () => {
        const body = table(['ID', 'STATE', 'SEQ', 'TIME', 'READING'], [...rows].map(([id, r]) => [id, r.state, r.seq, r.ts.slice(11, 23), r.values]));
        process.stdout.write(`\x1b[H\x1b[2J${body}\n`);
      };
      client.onNotification((method, params) => {
        if (!asTable) {
          process.stdout.write(JSON.stringify({ event: method, ...params }) + '\n');
          return;
        }
        const id = params.instrument as string | undefined;
        if (!id || (ids.length && !ids.includes(id))) return;
        const row = rows.get(id) ?? { state: '?', seq: '-', ts: '-', values: '-' };
        if (method === 'reading') Object.assign(row, { seq: params.seq, ts: params.ts, values: formatValues(params.values) });
        if (method === 'instrument.state') row.state = params.state;
        rows.set(id, row);
      });
      await client.call('events.subscribe', filter);
      if (asTable) {
        draw();
        setInterval(draw, 250);
      }
      await new Promise<void>((resolve) => process.on('SIGINT', () => resolve()));
      client.close();
    });
}
