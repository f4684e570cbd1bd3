/**
 * What the `daqctl watch` table shows, kept current by events: one row per instrument (state, the
 * time and values of its last reading, or its error) and one per module (state and a one-line
 * status: trips and alarms first). Pure: events in, lines out; the terminal is screen.ts's job.
 */
import type { InstrumentView, ModuleView } from '../../client/types.js';
import { formatReadingValues, table } from '../format.js';
import { moduleState, moduleSummary } from '../views/modules.js';
import { EVENT_TYPES, instrumentSelected, moduleSelected, typeSelected, type ModuleRoles, type Selection } from './filter.js';

interface InstrumentRow {
  state: string;
  ts?: string;
  values?: Record<string, unknown>;
  units?: Record<string, string>;
  error?: string;
}

/** What an event did to the board: nothing, a change to draw, or module data to fetch again. */
export type Applied = 'none' | 'changed' | 'refresh-modules';

/** "06:55:03" in local time: a person compares it with the clock on the wall. */
export function clockTime(ts: string | undefined): string {
  if (!ts) return '-';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '-';
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export class Board {
  private readonly instruments = new Map<string, InstrumentRow>();
  private readonly modules = new Map<string, ModuleView>();
  private readonly moduleRoles = new Map<string, Set<string>>();
  private dropped = 0;
  readonly showInstruments: boolean;
  readonly showModules: boolean;

  /** `keys`: q works too (the keyboard is read); otherwise only Ctrl-C is offered. */
  constructor(
    private readonly selection: Selection,
    private readonly keys = true,
  ) {
    const any = (prefix: string) => EVENT_TYPES.some((t) => t.startsWith(prefix) && typeSelected(selection, t));
    this.showInstruments = any('reading') || any('instrument.');
    // --module asks for modules; so does a plain `watch`. Instruments alone show the modules using them.
    this.showModules = any('module.');
  }

  get roles(): ModuleRoles {
    return this.moduleRoles;
  }

  loadInstruments(list: readonly InstrumentView[]): void {
    this.instruments.clear();
    for (const i of list) {
      if (!instrumentSelected(this.selection, i.id)) continue;
      this.instruments.set(i.id, {
        state: i.state,
        ...(i.lastReading ? { ts: i.lastReading.ts, values: i.lastReading.values, ...(i.lastReading.units ? { units: i.lastReading.units } : {}) } : {}),
        ...(i.state === 'error' && i.lastError ? { error: i.lastError.message } : {}),
      });
    }
  }

  /** Replaces the module rows (and the roles the filter follows) with a fresh module.list. */
  loadModules(list: readonly ModuleView[]): void {
    this.moduleRoles.clear();
    for (const m of list) this.moduleRoles.set(m.id, new Set(Object.values(m.roles ?? {})));
    this.modules.clear();
    for (const m of list) if (moduleSelected(this.selection, m.id, this.moduleRoles)) this.modules.set(m.id, structuredClone(m));
  }

  apply(type: string, params: Record<string, any>): Applied {
    if (type === 'events.dropped') {
      this.dropped += Number(params.count) || 0;
      return 'changed';
    }
    if (type.startsWith('module.')) return this.applyModule(type, params);
    const id = params.instrument;
    if (typeof id !== 'string' || !instrumentSelected(this.selection, id)) return 'none';
    if (type === 'instrument.removed') return this.instruments.delete(id) ? 'changed' : 'none';
    const row = this.instruments.get(id) ?? { state: 'connecting' };
    this.instruments.set(id, row);
    if (type === 'reading') {
      Object.assign(row, { ts: params.ts, values: params.values, units: params.units });
    } else if (type === 'instrument.state') {
      row.state = params.state;
      if (params.state === 'error') row.error = params.error?.message ?? 'error';
      else delete row.error;
    } else if (type !== 'instrument.added') {
      return 'none';
    }
    // A module may use the instrument that came or went: its roles are fetched again.
    return type === 'instrument.added' ? 'refresh-modules' : 'changed';
  }

  private applyModule(type: string, params: Record<string, any>): Applied {
    if (type === 'module.added' || type === 'module.removed' || type === 'module.updated') return 'refresh-modules';
    const m = typeof params.module === 'string' ? this.modules.get(params.module) : undefined;
    if (!m) return 'none';
    const s = m.status;
    switch (type) {
      case 'module.state':
        m.state = params.state;
        if (params.reason) m.reason = params.reason;
        else delete m.reason;
        break;
      case 'module.alarm':
        s.alarm = params.active === true;
        s.message = params.active ? params.message : undefined;
        if (typeof params.value === 'number') s.lastValue = params.value;
        break;
      case 'module.interlock':
        s.tripped = params.tripped === true;
        s.reason = params.tripped ? params.message : undefined;
        break;
      case 'module.reading': {
        const output = typeof s.output === 'string' ? s.output : undefined;
        const values = params.values ?? {};
        const value = output !== undefined && Object.hasOwn(values, output) ? values[output] : Object.values(values).find((v) => typeof v === 'number');
        if (typeof value === 'number') s.lastValue = value;
        break;
      }
      default:
        return 'none';
    }
    return 'changed';
  }

  /** The table's lines, each at most `width` columns (cut with …). */
  render(width: number): string[] {
    const lines: string[] = [];
    if (this.showInstruments) {
      const rows = [...this.instruments].map(([id, r]) => [id, r.state, clockTime(r.ts), r.state === 'error' ? `! ${r.error ?? 'error'}` : formatReadingValues(r.values, r.units)]);
      lines.push(...(rows.length ? table(['INSTRUMENT', 'STATE', 'TIME', 'LAST READING'], rows, width).split('\n') : ['no instruments']));
    }
    if (this.showModules && this.modules.size > 0) {
      if (lines.length) lines.push('');
      const rows = [...this.modules.values()].map((m) => [m.id, m.type, moduleState(m), moduleSummary(m)]);
      lines.push(...table(['MODULE', 'TYPE', 'STATE', 'STATUS'], rows, width).split('\n'));
    }
    lines.push('');
    lines.push(`${this.keys ? 'q or ' : ''}Ctrl-C to stop${this.dropped ? ` · missed ${this.dropped} events (the terminal was too slow)` : ''}`);
    return lines;
  }
}
