/**
 * daqctl's human output, from literal results shaped as daqd sends them (docs/protocol.md):
 * tables fit 80 columns, `get` shows configured vs device values with drift, holds and a set in
 * flight, `status` puts trouble first, `add` says how the first connection went.
 */
import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/format.js';
import { addOutcome, addProblem, formatAbort, formatAdd, formatInstrument, formatList, formatSet } from '../../src/cli/views/instrument.js';
import { formatReload, formatStatus, formatTrouble } from '../../src/cli/views/status.js';
import { startSpinner } from '../../src/cli/spinner.js';
import type { DaemonStatusView, InstrumentView, Trouble } from '../../src/client/types.js';

const laser: InstrumentView = {
  id: 'laser',
  driver: 'maitai',
  port: 'sim',
  state: 'ready',
  pollIntervalMs: 1000,
  params: { wavelength_nm: 800, shutter: false },
  lastReading: { seq: 14, ts: '2026-11-23T06:55:03.858Z', values: { power_w: 1.25, wavelength_nm: 810, shutter: false } },
  lastError: null,
  polls: 14,
  pollErrors: 0,
  parameters: [
    { name: 'wavelength_nm', kind: 'setpoint', type: 'number', unit: 'nm', min: 690, max: 1040, readBack: true, configured: 800, device: 810, drift: true },
    { name: 'shutter', kind: 'action', type: 'boolean', readBack: true, device: false, drift: false },
    { name: 'emission', kind: 'action', type: 'boolean', readBack: false, drift: false },
  ],
  device: { wavelength_nm: 810, shutter: false },
  deviceAt: '2026-11-23T06:55:03.000Z',
  drift: { wavelength_nm: { configured: 800, device: 810 } },
  holds: [{ param: 'shutter', value: false, holder: 'interlock sample_guard' }],
  busy: { params: ['wavelength_nm'], since: '2026-11-23T06:55:02.500Z' },
};

const noTrouble: Trouble = {
  interlocks: [],
  alarms: [],
  degradedModules: [],
  instrumentsInError: [],
  drift: [],
  configFile: { missing: false, unloadedEdit: false, reloadFailed: false },
};

const status = (trouble?: Trouble): DaemonStatusView => ({
  version: '0.1.0',
  pid: 42,
  uptimeS: 5,
  configPath: '/srv/lab/config/default.toml',
  instruments: { total: 2, ready: 1, error: 1 },
  modules: { total: 3 },
  persistence: { enabled: true, upToDate: true },
  lastReload: { outcome: 'applied', at: '2026-11-23T06:54:56.816Z', summary: '+laser' },
  ...(trouble ? { trouble } : {}),
});

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

describe('table', () => {
  it('aligns columns two spaces apart', () => {
    expect(table(['A', 'BB'], [['xyz', 1], ['q', 22]])).toBe('A    BB\nxyz  1\nq    22');
  });

  it('fits the width by cutting the widest columns (never the first), marking cuts with …', () => {
    const long = 'x'.repeat(60);
    const out = table(['ID', 'READING', 'ERROR'], [['pm_sample', long, long]], 80);
    expect(widest(out)).toBeLessThanOrEqual(80);
    const row = out.split('\n')[1]!;
    expect(row.startsWith('pm_sample  ')).toBe(true);
    const [, reading, error] = row.split(/\s{2,}/);
    expect(reading!.endsWith('…')).toBe(true);
    expect(error!.endsWith('…')).toBe(true);
    expect(Math.abs(reading!.length - error!.length)).toBeLessThanOrEqual(1); // cut evenly
  });
});

describe('daqctl get', () => {
  const out = formatInstrument(laser, 80);

  it('a parameter table with configured and device values, drift marker, unit, holds and a set in flight', () => {
    const lines = out.split('\n');
    expect(lines[0]).toBe('laser: maitai on sim, ready, every 1000 ms');
    expect(out).toMatch(/^PARAMETER\s+KIND\s+CONFIGURED\s+DEVICE\s+UNIT\s+NOTE$/m);
    expect(out).toMatch(/^wavelength_nm\s+setpoint\s+800\s+810\s+nm\s+DRIFT, setting…$/m);
    expect(out).toMatch(/^shutter\s+action\s+-\s+false\s+HELD$/m);
    expect(out).toMatch(/^emission\s+action\s+-\s+-\s+not read back$/m);
    expect(out).toContain('busy:    setting wavelength_nm since 2026-11-23T06:55:02.500Z');
    expect(out).toContain('held:    shutter = false by interlock sample_guard');
    expect(out).toContain('DRIFT:   wavelength_nm is 810 on the device, 800 in the config');
    expect(out).toContain('device:  values as of 2026-11-23T06:55:03.000Z');
    expect(out).toContain('reading: #14 2026-11-23T06:55:03.858Z power_w=1.250, wavelength_nm=810,\n         shutter=false');
    expect(widest(out)).toBeLessThanOrEqual(80);
    const tableLines = out.split('\n\n')[1]!;
    expect(tableLines.startsWith('PARAMETER')).toBe(true);
    expect(widest(tableLines)).toBeLessThanOrEqual(80);
  });

  it('nothing read yet, an error, reading units and flags', () => {
    const fresh = formatInstrument(
      {
        ...laser,
        state: 'error',
        deviceAt: null,
        drift: {},
        holds: [],
        busy: null,
        lastError: { kind: 'timeout', message: 'laser: no reply to WAVELENGTH?', at: '2026-11-23T07:00:00.000Z' },
        lastReading: { seq: 3, ts: 't', values: { power: -15.2 }, units: { power: 'dBm', power_w: 'W' }, flags: { power: 'saturated' } },
      },
      80,
    );
    expect(fresh).toContain('device:  nothing read from the device yet');
    expect(fresh).toContain('error:   laser: no reply to WAVELENGTH? (timeout, 2026-11-23T07:00:00.000Z)');
    expect(fresh).toContain('reading: #3 t power=-15.20 dBm (saturated)');
    expect(fresh).not.toContain('busy:');
  });

  it('from a daqd without parameters: the configured params line', () => {
    const { parameters: _p, ...old } = laser;
    expect(formatInstrument(old, 80)).toContain('params:  wavelength_nm=800 shutter=false');
  });
});

describe('daqctl ls', () => {
  it('an ERROR column only when an instrument is in error; 80 columns', () => {
    const ok = formatList([laser], 80);
    expect(ok.split('\n')[0]).toMatch(/^ID\s+DRIVER\s+PORT\s+STATE\s+SEQ\s+LAST READING$/);
    const broken = formatList([laser, { ...laser, id: 'pm9', state: 'error', lastError: { kind: 'disconnected', message: 'pm9: /dev/ttyUSB0 went away (unplugged?)' } }], 80);
    expect(broken.split('\n')[0]).toMatch(/LAST READING\s+ERROR$/);
    expect(broken).toContain('pm9');
    expect(widest(broken)).toBeLessThanOrEqual(80);
  });
});

describe('daqctl set / abort / add', () => {
  it('set: the confirmed values, and why the file was not updated', () => {
    expect(formatSet({ id: 'laser', params: { shutter: false }, changed: [], persisted: { written: false, reason: 'shutter is an action, not written to the file' } })).toBe(
      'laser: shutter=false\n(config file not updated: shutter is an action, not written to the file)',
    );
    expect(formatSet({ id: 'pm1', params: { wavelength_nm: 633 }, poll_interval_ms: 100, persisted: { written: true } })).toBe('pm1: wavelength_nm=633 poll_interval_ms=100');
  });

  it('abort', () => {
    expect(formatAbort({ id: 'stage', aborted: true, failed: 2, state: 'ready' })).toBe('stage: stopped the operation in flight; 2 pending sets failed (aborted); state ready');
    expect(formatAbort({ id: 'stage', aborted: false, failed: 0, state: 'ready' })).toBe('stage: nothing was in flight; state ready');
  });

  it('add: ready is success; a failed first connection or a timeout exit 1 with the reason', () => {
    const ready = { id: 'pm3', state: 'ready', persisted: { written: true } };
    expect(addOutcome(ready, true)).toBe('ok');
    expect(formatAdd(ready)).toBe('added pm3 (ready)');
    const failed = { id: 'pm3', state: 'error', error: { kind: 'port_error', message: 'cannot open /dev/ttyUSB0: permission denied' } };
    expect(addOutcome(failed, true)).toBe('failed');
    expect(addProblem(failed, 'failed', 10)).toBe(
      'pm3 was added but its first connection failed: cannot open /dev/ttyUSB0: permission denied [port_error] (it keeps retrying; daqctl rm pm3 to give up)',
    );
    const slow = { id: 'pm3', state: 'connecting' };
    expect(addOutcome(slow, true)).toBe('timeout');
    expect(addProblem(slow, 'timeout', 2.5)).toBe('pm3 was added but is still connecting after 2.5 s (daqctl get pm3 to follow it)');
    expect(addOutcome(slow, false)).toBe('ok'); // --no-wait: connecting is the expected answer
    expect(formatAdd({ id: 'pm3', instrument: { ...laser, id: 'pm3', state: 'connecting' } })).toBe('added pm3 (connecting)');
  });
});

describe('daqctl status', () => {
  it('"no trouble" when daqd reports none; nothing from a daqd that does not report it', () => {
    expect(formatStatus(status(noTrouble)).split('\n')[1]).toBe('no trouble');
    expect(formatStatus(status())).not.toMatch(/trouble/i);
  });

  it('every kind of trouble, right after the first line', () => {
    const out = formatStatus(
      status({
        interlocks: [{ module: 'sample_guard', since: '2026-11-23T07:00:00.000Z', cause: 'power 6.1e-3 above 5e-3', message: 'shutter closed' }],
        alarms: [{ module: 'chiller_watch', message: 'temperature 26.1 above 25' }],
        degradedModules: [{ module: 'transmission', reason: 'unassigned role(s): ref' }],
        instrumentsInError: [{ id: 'pm_ref', kind: 'disconnected', message: 'pm_ref: port went away' }],
        drift: [{ instrument: 'laser', param: 'wavelength_nm', configured: 800, device: 810 }],
        configFile: { missing: false, unloadedEdit: true, reloadFailed: true, message: 'line 12: instruments.laser.params.shutter: ...' },
      }),
    );
    const lines = out.split('\n');
    expect(lines[1]).toBe('TROUBLE (7):');
    expect(lines.slice(2, 9)).toEqual([
      '  ! interlock sample_guard TRIPPED since 2026-11-23T07:00:00.000Z: power 6.1e-3 above 5e-3 - shutter closed (daqctl module reset sample_guard)',
      '  ! alarm chiller_watch: temperature 26.1 above 25',
      '  ! module transmission degraded: unassigned role(s): ref',
      '  ! instrument pm_ref in error: pm_ref: port went away [disconnected]',
      '  ! drift laser.wavelength_nm: 810 on the device, 800 in the config',
      '  ! config file edited but not loaded (daqctl reload)',
      '  ! last reload failed: line 12: instruments.laser.params.shutter: ... (daqctl reload --status)',
    ]);
    expect(lines[9]).toBe('config:      /srv/lab/config/default.toml');
  });

  it('a missing config file', () => {
    expect(formatTrouble({ ...noTrouble, configFile: { missing: true, unloadedEdit: false, reloadFailed: false, message: 'file not found' } })).toEqual([
      'TROUBLE (1):',
      '  ! config file missing: file not found',
    ]);
  });

  it('reload --status of a failed reload lists the errors with their lines', () => {
    expect(formatReload({ outcome: 'failed', at: 'T', errors: [{ line: 7, path: 'instruments.laser.params.shutter', message: 'use shutter = false' }] })).toBe(
      'reload failed at T; the running config is unchanged:\n  line 7: instruments.laser.params.shutter: use shutter = false',
    );
  });
});

describe('spinner', () => {
  it('writes nothing off a terminal', () => {
    const written: string[] = [];
    const stop = startSpinner('adding pm3', { isTTY: false, write: (t) => (written.push(t), true) });
    stop();
    expect(written).toEqual([]);
  });

  it('on a terminal: draws at once, clears its line when stopped', () => {
    const written: string[] = [];
    const stop = startSpinner('adding pm3', { isTTY: true, write: (t) => (written.push(t), true) });
    stop();
    expect(written[0]).toMatch(/^\r\x1b\[2K. adding pm3 \(Ctrl-C to abort\)$/);
    expect(written.at(-1)).toBe('\r\x1b[2K');
  });
});
