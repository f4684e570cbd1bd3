/** The small pieces of src/service: journal lines, the status line, the watchdog interval, activation. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalLine, priorityOf } from '../../src/services/systemd/journal.js';
import { statusLine } from '../../src/services/systemd/status-line.js';
import { watchdogIntervalMs } from '../../src/services/systemd/watchdog.js';
import { activationFd } from '../../src/rpc/server.js';
import { waitUntil } from '../helpers/daemon.js';
import { DAQD_BIN, METER, project } from './helpers.js';

describe('journal lines', () => {
  it('syslog priorities: error <3>, warn <4>, audit <5>, info <6>, debug <7>, fatal <2>', () => {
    expect([60, 50, 40, 30, 20, 10].map((l) => priorityOf(l, false))).toEqual([2, 3, 4, 6, 7, 7]);
    expect(priorityOf(30, true)).toBe(5);
    expect(journalLine(JSON.stringify({ level: 40, time: 1, pid: 9, instrument: 'pm1', msg: 'slow reply', ms: 12 }))).toBe('<4>[pm1] slow reply {"ms":12}\n');
    expect(journalLine(JSON.stringify({ level: 30, audit: true, module: 'guard', msg: 'applied' }))).toBe('<5>[module guard] applied\n');
  });

  it('one line per entry, whatever the message and error stack hold', () => {
    const line = journalLine(JSON.stringify({ level: 50, msg: 'two\nlines', err: { type: 'Error', message: 'x', stack: 'Error: x\n    at a\n    at b' } }));
    expect(line.split('\n')).toHaveLength(2);
    expect(line.endsWith('\n')).toBe(true);
    expect(line).toMatch(/^<3>two\\nlines \{"err":/);
  });

  it('under systemd (JOURNAL_STREAM names stdout) daqd writes journal lines; --log-format json keeps JSON', async () => {
    const p = project('[application.dynamic_config]\nenable_persistence = false\n' + METER('pm1'));
    try {
      for (const [format, expectJournal] of [['auto', true], ['json', false]] as const) {
        const out = join(p.dir, `${format}.log`);
        writeFileSync(out, '');
        const st = statSync(out);
        const script = `exec "${process.execPath}" "${DAQD_BIN}" --config "${p.configPath}" --log-format ${format} >> "${out}" 2>&1`;
        const { spawn } = await import('node:child_process');
        const env: NodeJS.ProcessEnv = { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` };
        delete env.NOTIFY_SOCKET;
        const child = spawn('sh', ['-c', script], { env, stdio: 'ignore' });
        const exited = new Promise((r) => child.once('exit', r));
        await waitUntil(() => readFileSync(out, 'utf8').includes('daqd ready on'), 15_000, `daqd ready (${format})`);
        child.kill('SIGTERM');
        await exited;
        const lines = readFileSync(out, 'utf8').trim().split('\n');
        if (expectJournal) {
          expect(lines.every((l) => /^<[2-7]>/.test(l)), lines.join('\n')).toBe(true);
          expect(lines.find((l) => l.includes('daqd ready on'))).toMatch(/^<6>daqd ready on /);
          expect(lines.some((l) => l.startsWith('<5>'))).toBe(true); // the start-up's audit line
        } else {
          expect(lines.every((l) => l.startsWith('{"level":')), lines.join('\n')).toBe(true);
        }
      }
    } finally {
      p.dispose();
    }
  });
});

describe('status line', () => {
  it('counts by state, then trouble, on one line', () => {
    expect(
      statusLine({
        instruments: { total: 9, ready: 8, error: 1 },
        trouble: { interlocks: [{ module: 'sample_guard' }], alarms: [], degradedModules: [], drift: [], configFile: {} },
      }),
    ).toBe('8 instruments ready, 1 in error; interlock sample_guard tripped');
    expect(statusLine({ instruments: { total: 1, ready: 1 } })).toBe('1 instrument ready');
    expect(statusLine({ instruments: { total: 2, disabled: 2 }, safeMode: { active: true, held: ['a', 'b'] } })).toBe('safe mode: 0 instruments ready, 2 held by safe mode (daqctl enable ID)');
    expect(statusLine({ instruments: { total: 0 }, trouble: { configFile: { reloadFailed: true } } })).toBe('no instruments; last reload failed (daqctl reload --status)');
  });
});

describe('watchdog interval and socket activation', () => {
  it('half of WATCHDOG_USEC, only for the process WATCHDOG_PID names', () => {
    expect(watchdogIntervalMs({}, 10)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 10)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '10' }, 10)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '11' }, 10)).toBeUndefined();
  });

  it('LISTEN_FDS for this pid: fd 3, and the variables are cleared', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '1', LISTEN_PID: '42', LISTEN_FDNAMES: 'daqd.socket' };
    expect(activationFd(env, 42)).toBe(3);
    expect(env.LISTEN_FDS).toBeUndefined();
    expect(activationFd({ LISTEN_FDS: '1', LISTEN_PID: '43' }, 42)).toBeUndefined();
    expect(activationFd({}, 42)).toBeUndefined();
  });
});

