/**
 * Structured logs: JSON lines when stdout is not a terminal (systemd journal, files), readable
 * lines on a terminal. Instruments and modules get child loggers (`instrument`, `module` fields).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export function createLogger(level: LevelWithSilent = 'info', pretty = process.stdout.isTTY === true): Logger {
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } },
    });
  }
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
