/**
 * Modules for people: one short STATUS per module (`module ls`, `watch`), trouble first: a tripped
 * interlock or an alarm leads its line; otherwise the value it watches or computes. The full status
 * is in `daqctl --json module ls` (docs/modules.md describes every field).
 */
import type { ModuleView } from '../../client/types.js';
import { formatValues, outputWidth, table } from '../format.js';
import { formatQuantity } from '../numbers.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function lastValue(s: Record<string, unknown>): string | undefined {
  const v = num(s.lastValue);
  return v === undefined ? undefined : formatQuantity(v, str(s.unit));
}

function interlockSummary(s: Record<string, unknown>): string {
  if (s.tripped === true) {
    const why = str(s.reason) ?? str(s.message) ?? str(s.cause) ?? 'tripped';
    return `TRIPPED: ${why}`;
  }
  const parts = ['ok'];
  const value = lastValue(s);
  if (value) parts.push(value);
  const warning = str(s.warning);
  return parts.join(' ') + (warning ? ` - ${warning}` : '');
}

function monitorSummary(s: Record<string, unknown>): string {
  const value = lastValue(s);
  const limits = str(s.limits);
  if (s.alarm === true || s.active === true) {
    const why = str(s.message) ?? str(s.unitMismatch) ?? str(s.invalid) ?? [str(s.side), value].filter(Boolean).join(' ');
    return `ALARM: ${why || 'active'}${limits ? ` (${limits})` : ''}`;
  }
  if (s.stale === true) return `STALE: no reading since ${str(s.staleSince) ?? str(s.lastReadingAt) ?? 'start'}`;
  return `ok${value ? ` ${value}` : ''}${limits ? ` (${limits})` : ''}`;
}

function derivedSummary(s: Record<string, unknown>): string {
  const value = lastValue(s);
  const note = str(s.problem) ?? str(s.note);
  return `${str(s.output) ?? 'output'} = ${value ?? '-'}${note ? ` - ${note}` : ''}`;
}

/** The one-line status of a module: trips and alarms first, else what it watches or computes. */
export function moduleSummary(m: Pick<ModuleView, 'type' | 'status'>): string {
  const s = m.status ?? {};
  switch (m.type) {
    case 'interlock':
      return interlockSummary(s);
    case 'monitor':
      return monitorSummary(s);
    case 'derived':
      return derivedSummary(s);
    default:
      return formatValues(s);
  }
}

/** "running", or "degraded (unassigned role(s): ref)". */
export function moduleState(m: Pick<ModuleView, 'state' | 'reason'>): string {
  return m.state + (m.reason ? ` (${m.reason})` : '');
}

/** `daqctl module ls`. */
export function formatModuleList(modules: readonly ModuleView[], width = outputWidth()): string {
  if (modules.length === 0) return 'no modules';
  return table(
    ['ID', 'TYPE', 'STATE', 'ROLES', 'STATUS'],
    modules.map((m) => [m.id, m.type, moduleState(m), formatValues(m.roles), moduleSummary(m)]),
    width,
  );
}
