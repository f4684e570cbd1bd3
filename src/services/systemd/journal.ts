/**
 * Log lines for the systemd journal. Under systemd, stdout/stderr are a stream to journald
 * (`JOURNAL_STREAM=<dev>:<inode>` names it); journald reads a `<N>` syslog priority prefix at the
 * start of each line, so `journalctl -p warning -u daqd` shows warnings and worse. One entry is one
 * line (newlines inside a message are escaped), then the instrument or module it is about, the
 * message, and the remaining fields as compact JSON.
 *
 * pino level -> priority: fatal 60 -> <2> crit, error 50 -> <3> err, warn 40 -> <4> warning,
 * info 30 with `audit: true` (every change) -> <5> notice, info -> <6> info, debug/trace -> <7> debug.
 */
import { fstatSync } from 'node:fs';

export type LogFormat = 'auto' | 'json' | 'journal' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'journal', 'pretty'];

/** Whether fd 1 or 2 is the journal stream systemd named in JOURNAL_STREAM. */
export function onJournalStream(env: NodeJS.ProcessEnv = process.env): boolean {
  const spec = env.JOURNAL_STREAM;
  if (!spec) return false;
  const [dev, ino] = spec.split(':');
  for (const fd of [1, 2]) {
    try {
      const st = fstatSync(fd, { bigint: true });
      if (String(st.dev) === dev && String(st.ino) === ino) return true;
    } catch {
      // closed
    }
  }
  return false;
}

/** The format `auto` means here: journal under systemd, pretty on a terminal, else JSON lines. */
export function resolveLogFormat(format: LogFormat, env: NodeJS.ProcessEnv = process.env, isTTY = process.stdout.isTTY === true): Exclude<LogFormat, 'auto'> {
  if (format !== 'auto') return format;
  if (onJournalStream(env)) return 'journal';
  return isTTY ? 'pretty' : 'json';
}

export function priorityOf(level: number, audit: boolean): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return audit ? 5 : 6;
  return 7;
}

const DROP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'instrument', 'module', 'audit', 'v']);

/** One pino JSON line -> one journal line (with its trailing newline). */
export function journalLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `<6>${json.replace(/\r?\n/g, '\\n')}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const who = typeof entry.instrument === 'string' ? `[${entry.instrument}] ` : typeof entry.module === 'string' ? `[module ${entry.module}] ` : '';
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (!DROP.has(k)) rest[k] = v;
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `<${priorityOf(level, entry.audit === true)}>${who}${msg.replace(/\r?\n/g, '\\n')}${extra}\n`;
}

/** A pino destination that writes journal lines synchronously to `write` (stdout by default). */
export function journalDestination(write: (line: string) => void): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      // pino hands over one entry per call, ending in a newline.
      for (const line of chunk.split('\n')) if (line !== '') write(journalLine(line));
    },
  };
}
