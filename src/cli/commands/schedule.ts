/**
 * daqctl schedule [list], schedule get|cancel|pause|resume ID, schedule add [--id ID] KEY=VALUE...
 * (the keys of [schedules.<id>], docs/schedules.md): schedules and triggers (issue #22).
 */
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';
import { table } from '../format.js';
import { UsageError } from '../exit.js';

interface View {
  id: string;
  type: string;
  instrument: string;
  param: string;
  state: string;
  owner: string;
  nextDue?: string;
  lastValue?: unknown;
  lastError?: string;
  fires: number;
  note?: string;
}

/** KEY=VALUE: numbers, true/false, [a, b] lists (windows, holidays) and strings. */
function parseValue(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  if (text !== '' && !Number.isNaN(Number(text))) return Number(text);
  if (text.startsWith('[') && text.endsWith(']')) return text.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean);
  return text;
}

const line = (v: View) => `${v.id}: ${v.type} ${v.instrument}.${v.param} ${v.state}${v.nextDue ? `, next ${v.nextDue}` : ''}${v.note ? ` (${v.note})` : ''}`;

export function registerScheduleCommands(program: Command, ctl: Ctl): void {
  const schedule = program
    .command('schedule')
    .alias('schedules')
    .description('schedules and triggers: list (default), get, add, cancel, pause, resume')
    .action(() =>
      ctl.run<{ schedules: View[] }>('schedule.list', undefined, (r) => {
        if (r.schedules.length === 0) return 'no schedules';
        return table(
          ['ID', 'TYPE', 'PARAMETER', 'STATE', 'NEXT (UTC)', 'LAST', 'FIRES', 'NOTE'],
          r.schedules.map((s) => [s.id, s.type, `${s.instrument}.${s.param}`, s.state, s.nextDue ?? '', s.lastError ? `error: ${s.lastError}` : s.lastValue === undefined ? '' : String(s.lastValue), s.fires, s.note ?? (s.owner === 'config' ? 'config file' : '')]),
        );
      }),
    );
  schedule.command('list').description('every schedule').action(() => ctl.run<{ schedules: View[] }>('schedule.list', undefined, (r) => r.schedules.map(line).join('\n') || 'no schedules'));
  schedule.command('get <id>').description('one schedule').action((id: string) => ctl.run<View>('schedule.get', { id }, (r) => JSON.stringify(r, null, 2)));
  schedule
    .command('add <fields...>')
    .description('add one: type=ramp instrument=chiller param=setpoint to=30 duration_ms=3600000 (keys as in [schedules.<id>])')
    .option('--id <id>', 'its id (default: generated)')
    .action((fields: string[], o: { id?: string }) => {
      const spec: Record<string, unknown> = {};
      for (const f of fields) {
        const eq = f.indexOf('=');
        if (eq < 1) throw new UsageError(`"${f}" is not KEY=VALUE`);
        spec[f.slice(0, eq)] = parseValue(f.slice(eq + 1));
      }
      return ctl.run<View>('schedule.add', { ...(o.id ? { id: o.id } : {}), schedule: spec }, line);
    });
  for (const verb of ['cancel', 'pause', 'resume'] as const) {
    schedule.command(`${verb} <id>`).description(`${verb} a schedule`).action((id: string) => ctl.run<View>(`schedule.${verb}`, { id }, line));
  }
}
