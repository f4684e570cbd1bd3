/** daqctl's human output for one instrument: get, set, abort, add. Pure functions of the results. */
import type { AbortResult, AddResult, HoldView, InstrumentView, LifecycleResult, ParameterView, PersistedView, ReadingView, SetResult } from '../../client/types.js';
import { formatReadingValues, formatValue, formatValues, outputWidth, table } from '../format.js';
import { overrideLine } from './overrides.js';

/** "(config file not updated: ...)" when a change was not written, else nothing. */
export function persistedNote(persisted: PersistedView | undefined): string {
  if (!persisted || persisted.written) return '';
  return `\n(config file not updated: ${persisted.reason ?? 'no reason given'})`;
}

/** `daqctl ls`: one row per instrument; the ERROR column only when one is in error (80 columns are few). */
export function formatList(instruments: readonly InstrumentView[], width = outputWidth()): string {
  const anyError = instruments.some((i) => i.state === 'error');
  const headers = ['ID', 'DRIVER', 'PORT', 'STATE', 'SEQ', 'LAST READING', ...(anyError ? ['ERROR'] : [])];
  const rows = instruments.map((i) => [
    i.id,
    i.driver,
    i.port,
    i.state,
    i.lastReading?.seq ?? '-',
    formatReadingValues(i.lastReading?.values, i.lastReading?.units),
    ...(anyError ? [i.state === 'error' ? (i.lastError?.message ?? '') : ''] : []),
  ]);
  return table(headers, rows, width);
}

/**
 * `daqctl get ID`: a header, what is going on (busy, holds, drift, error), the parameter table
 * (configured vs device values) and the last reading.
 */
export function formatInstrument(i: InstrumentView, width = outputWidth()): string {
  const lines = [`${i.id}: ${i.driver} on ${i.port}, ${i.state}, every ${i.pollIntervalMs} ms`];
  if (i.busy) lines.push(`busy:    setting ${i.busy.params.join(', ')} since ${i.busy.since}`);
  for (const h of i.holds ?? []) lines.push(`held:    ${h.param} = ${formatValue(h.value)} by ${h.holder} (a set of ${h.param} is refused)`);
  for (const [name, d] of Object.entries(i.drift ?? {})) {
    lines.push(`DRIFT:   ${name} is ${formatValue(d.device)} on the device, ${formatValue(d.configured)} in the config`);
  }
  if (i.lastError) lines.push(`error:   ${i.lastError.message} (${i.lastError.kind}${i.lastError.at ? `, ${i.lastError.at}` : ''})`);
  for (const o of i.overrides ?? []) lines.push(`memory:  ${overrideLine(o, `instruments.${i.id}.`)}, not in the file (daqctl sync writes it)`);
  if (i.parameters) {
    lines.push(`device:  ${i.deviceAt ? `values as of ${i.deviceAt}` : 'nothing read from the device yet'}`);
    lines.push('', parameterTable(i, width), '');
  } else {
    lines.push(`params:  ${formatValues(i.params)}`);
  }
  lines.push(...readingLines(i.lastReading, width));
  lines.push(`polls:   ${i.polls} ok, ${i.pollErrors} failed`);
  return lines.join('\n');
}

/** PARAMETER KIND CONFIGURED DEVICE UNIT NOTE; NOTE marks drift, a hold, a set in flight, no read-back. */
export function parameterTable(i: InstrumentView, width = outputWidth()): string {
  const held = new Map((i.holds ?? []).map((h) => [h.param, h]));
  const busy = new Set(i.busy?.params ?? []);
  const rows = (i.parameters ?? []).map((p) => [
    p.name,
    p.kind,
    p.configured === undefined ? '-' : formatValue(p.configured),
    p.device === undefined ? '-' : formatValue(p.device),
    p.unit ?? '',
    notes(p, held.get(p.name), busy.has(p.name)).join(', '),
  ]);
  return table(['PARAMETER', 'KIND', 'CONFIGURED', 'DEVICE', 'UNIT', 'NOTE'], rows, width);
}

function notes(p: ParameterView, hold: HoldView | undefined, busy: boolean): string[] {
  const out: string[] = [];
  if (p.drift) out.push('DRIFT');
  if (hold) out.push('HELD'); // who holds it and at what: the "held:" line above the table
  if (busy) out.push('setting…');
  if (!p.readBack) out.push('not read back');
  return out;
}

/**
 * "reading: #14 <ts> power=500.0 µW (saturated), shutter=false": each value with its unit and flag,
 * if any, continued on indented lines when the values do not fit the width.
 */
function readingLines(r: ReadingView | null, width: number): string[] {
  const label = 'reading: ';
  if (!r) return [`${label}-`];
  const values = Object.keys(r.values)
    .map((name) => {
      const flag = r.flags && Object.hasOwn(r.flags, name) ? r.flags[name] : undefined;
      return formatReadingValues({ [name]: r.values[name] }, r.units) + (flag ? ` (${flag})` : '');
    })
    .filter((v) => v !== '-');
  const lines: string[] = [];
  const indent = ' '.repeat(label.length);
  let line = `${label}#${r.seq} ${r.ts}`;
  let onLine = 0; // values on `line`
  let first = true; // the first value goes on the header line, after a space
  for (const v of values.length ? values : ['-']) {
    const candidate = `${line}${first ? ' ' : onLine === 0 ? '' : ', '}${v}`;
    if (candidate.length <= width || (onLine === 0 && !first)) {
      line = candidate;
      onLine++;
    } else {
      lines.push(onLine > 0 ? `${line},` : line);
      line = `${indent}${v}`;
      onLine = 1;
    }
    first = false;
  }
  lines.push(line);
  return lines;
}

/** `daqctl set`: the values the device confirmed. */
export function formatSet(r: SetResult): string {
  const confirmed = Object.entries(r.params ?? {}).map(([k, v]) => `${k}=${formatValue(v)}`);
  if (r.poll_interval_ms !== undefined) confirmed.push(`poll_interval_ms=${r.poll_interval_ms}`);
  return `${r.id}: ${confirmed.join(' ')}${r.reconnected ? ' (reconnected)' : ''}${persistedNote(r.persisted)}`;
}

/** `daqctl abort`. */
export function formatAbort(r: AbortResult): string {
  const what = r.aborted ? 'stopped the operation in flight' : 'nothing was in flight';
  const failed = r.failed > 0 ? `; ${r.failed} pending set${r.failed === 1 ? '' : 's'} failed (aborted)` : '';
  return `${r.id}: ${what}${failed}; state ${r.state}`;
}

/** How an add (enable, restart) ended, for the exit code: ok, the first connection failed, or still connecting at the timeout. */
export type AddOutcome = 'ok' | 'failed' | 'timeout';

export function addOutcome(r: Pick<AddResult, 'state' | 'instrument'>, waited: boolean): AddOutcome {
  if (!waited) return 'ok';
  const state = r.state ?? r.instrument?.state;
  if (state === 'error') return 'failed';
  if (state === 'connecting') return 'timeout';
  return 'ok';
}

/** `daqctl add`: the state it reached; for a failure the line goes to stderr (see addProblem). */
export function formatAdd(r: AddResult): string {
  return `added ${r.id} (${r.state ?? r.instrument?.state ?? 'starting'})${persistedNote(r.persisted)}`;
}

/** The stderr line of an add that did not end ready: added to the config, but not connected. */
export function addProblem(r: AddResult, outcome: AddOutcome, timeoutS: number): string | undefined {
  if (outcome === 'failed') {
    const why = r.error ?? r.instrument?.lastError;
    return `${r.id} was added but its first connection failed: ${why ? `${why.message} [${why.kind}]` : 'no reason given'} (it keeps retrying; daqctl rm ${r.id} to give up)`;
  }
  if (outcome === 'timeout') return `${r.id} was added but is still connecting after ${timeoutS} s (daqctl get ${r.id} to follow it)`;
  return undefined;
}

/** `daqctl enable` / `restart`: the state reached; `disable`: the port closed. */
export function formatLifecycle(verb: 'enabled' | 'disabled' | 'restarted', r: LifecycleResult): string {
  if (r.changed && r.changed.length === 0 && verb !== 'restarted') return `${r.id} was already ${verb}${r.state ? ` (${r.state})` : ''}`;
  const state = verb === 'disabled' ? 'port closed, not polled' : (r.state ?? 'connecting');
  return `${verb} ${r.id} (${state})${persistedNote(r.persisted)}`;
}

/** The stderr line of an enable/restart whose connection failed or is still pending at the timeout. */
export function connectProblem(r: LifecycleResult, outcome: AddOutcome, timeoutS: number): string | undefined {
  if (outcome === 'failed') {
    return `${r.id} did not connect: ${r.error ? `${r.error.message} [${r.error.kind}]` : 'no reason given'} (it keeps retrying; daqctl disable ${r.id} to stop it)`;
  }
  if (outcome === 'timeout') return `${r.id} is still connecting after ${timeoutS} s (daqctl get ${r.id} to follow it)`;
  return undefined;
}
