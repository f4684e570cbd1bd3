/**
 * What a person must know about now, in one place (daemon.status `trouble`, daqctl status):
 * tripped interlocks, active alarms, degraded modules, instruments in error, drift, and a config
 * file that is missing, holds an edit daqd has not loaded, or failed to reload. Plain functions
 * over the daemon's views: nothing here changes anything.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ModuleView } from '../modules/supervisor.js';
import type { InstrumentView } from './manager/supervisor.js';
import type { ReloadStatus } from './handlers/config.js';

/** One line for an active monitor alarm in status: what is wrong, from the module's status. */
function alarmText(status: Record<string, unknown>): string {
  const parts: string[] = [];
  if (status.alarm === true) parts.push(`${typeof status.side === 'string' ? `${status.side} ` : ''}limit crossed (last value ${String(status.lastValue)}${typeof status.unit === 'string' ? ` ${status.unit}` : ''})`);
  if (status.stale === true) parts.push(`no reading since ${String(status.lastReadingAt ?? 'start-up')}`);
  if (status.unitMismatch !== undefined) parts.push(`wrong unit: ${String(status.unitMismatch)}`);
  if (status.invalid !== undefined) parts.push(`invalid reading: ${String(status.invalid)}`);
  return parts.join('; ') || 'alarm';
}

export interface TroubleInput {
  instruments: InstrumentView[];
  modules: ModuleView[];
  lastReload: ReloadStatus;
  file: { missing: boolean; unloadedEdit: boolean };
  /** A commit-confirmed transaction whose deadline passed (on_timeout = hold). */
  txAlarm?: { tx: string; message: string };
}

export function troubleOf({ instruments, modules, lastReload, file, txAlarm }: TroubleInput) {
  const interlocks = modules
    .filter((m) => m.type === 'interlock' && m.status.tripped === true)
    .map((m) => ({ module: m.id, since: m.status.since, ...(m.status.cause ? { cause: m.status.cause } : {}), ...(m.status.message ? { message: m.status.message } : {}) }));
  const alarms = modules
    .filter((m) => m.status.alarm === true || m.status.stale === true || m.status.unitMismatch !== undefined || m.status.invalid !== undefined)
    .map((m) => ({ module: m.id, message: alarmText(m.status) }));
  if (txAlarm) alarms.push({ module: `tx:${txAlarm.tx}`, message: txAlarm.message });
  const degradedModules = modules.filter((m) => m.state === 'degraded').map((m) => ({ module: m.id, reason: m.reason ?? '' }));
  const instrumentsInError = instruments
    .filter((i) => i.state === 'error')
    .map((i) => ({ id: i.id, kind: i.lastError?.kind ?? 'unknown', message: i.lastError?.message ?? '' }));
  const drift = instruments.flatMap((i) => Object.entries(i.drift).map(([param, d]) => ({ instrument: i.id, param, ...d })));
  const reloadFailed = lastReload.outcome === 'failed';
  return {
    interlocks,
    alarms,
    degradedModules,
    instrumentsInError,
    drift,
    configFile: {
      missing: file.missing,
      unloadedEdit: file.unloadedEdit,
      reloadFailed,
      ...(reloadFailed && lastReload.message ? { message: lastReload.message } : {}),
    },
  };
}

/**
 * Whether the config file is missing or holds text daqd has not loaded (or written). Read at most
 * once a second: daemon.status is asked in loops by scripts and must stay cheap.
 */
export class ConfigFileCheck {
  private last = { at: 0, missing: false, unloadedEdit: false };

  constructor(
    private readonly path: string,
    /** sha256 of the text daqd last loaded or wrote. */
    private readonly knownHash: () => string | undefined,
  ) {}

  now(): { missing: boolean; unloadedEdit: boolean } {
    const now = Date.now();
    if (now - this.last.at < 1000) return this.last;
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      text = undefined;
    }
    const known = this.knownHash();
    this.last = {
      at: now,
      missing: text === undefined,
      unloadedEdit: text !== undefined && known !== undefined && createHash('sha256').update(text).digest('hex') !== known,
    };
    return this.last;
  }
}

/**
 * Changes are written back to the config file by replacing it (temp file + rename in its
 * directory): say at start-up, not at the first change, when that cannot work.
 */
export function warnIfNotWritable(configPath: string, log: Logger): void {
  for (const [path, what] of [
    [configPath, 'the config file'],
    [dirname(resolve(configPath)), "the config file's directory (changes are written by replacing the file)"],
  ] as const) {
    try {
      accessSync(path, constants.W_OK);
    } catch {
      log.warn({ path }, `${what} ${path} is not writable: changes made while daqd runs will stay in memory only (daqctl status says so); fix the permissions, or set enable_persistence = false`);
      return;
    }
  }
}
