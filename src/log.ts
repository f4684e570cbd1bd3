/**
 * Structured logs. Formats (`daqd --log-format`, env DAQD_LOG_FORMAT):
 * - `auto` (default): `journal` under systemd (stdout/stderr is the JOURNAL_STREAM), `pretty` on a
 *   terminal, else `json`;
 * - `json`: one JSON object per line (files, log shippers; also available under systemd);
 * - `journal`: one line per entry with a syslog priority prefix (`<3>` error ... `<7>` debug), so
 *   `journalctl -p warning -u daqd` filters by level (src/services/systemd/journal.ts);
 * - `pretty`: readable coloured lines.
 * Instruments and modules get child loggers (`instrument`, `module` fields).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { journalDestination, resolveLogFormat, type LogFormat } from './services/systemd/journal.js';

export type { LogFormat } from './services/systemd/journal.js';

export function createLogger(level: LevelWithSilent = 'info', format: LogFormat | boolean = 'auto'): Logger {
  const resolved = typeof format === 'boolean' ? (format ? 'pretty' : 'json') : resolveLogFormat(format);
  if (resolved === 'pretty') {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } },
    });
  }
  if (resolved === 'journal') {
    // journald stamps each entry and knows the pid: neither goes into the line.
    const out = pino.destination({ dest: 1, sync: true });
    return pino({ level, base: undefined, timestamp: false }, journalDestination((line) => out.write(line)));
  }
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
