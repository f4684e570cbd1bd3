/**
 * The views of the commands added with issue #17 (drivers, ports, enable/disable/restart, module
 * status, memory-only changes in status/get/reload), from results shaped as daqd sends them.
 */
import { describe, expect, it } from 'vitest';
import { formatDriver, formatDriverList, formatPorts } from '../../src/cli/views/drivers.js';
import { addOutcome, connectProblem, formatInstrument, formatLifecycle } from '../../src/cli/views/instrument.js';
import { formatModuleList, moduleSummary } from '../../src/cli/views/modules.js';
import { formatReload, formatStatus } from '../../src/cli/views/status.js';
import type { DaemonStatusView, DriverDescription } from '../../src/client/types.js';

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

describe('drivers and ports', () => {
  const meter: DriverDescription = {
    name: 'newport_1830c',
    description: 'Newport 1830-C optical power meter (RS-232)',
    multidrop: false,
    serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
    parameters: [
      { name: 'wavelength_nm', kind: 'setpoint', type: 'integer', unit: 'nm', min: 400, max: 1100, settable: 'running', readBack: true },
      { name: 'filter', kind: 'setpoint', type: 'enum', values: ['slow', 'medium', 'fast'], settable: 'running', readBack: true },
      { name: 'emission', kind: 'action', type: 'boolean', settable: 'running', readBack: false },
    ],
    readings: [{ name: 'power', type: 'number', unit: 'W', description: 'Optical power' }],
  };

  it('drivers: a table that fits 80 columns', () => {
    const out = formatDriverList([meter, { ...meter, name: 'ell14', multidrop: true, description: 'x'.repeat(100) }], 80);
    expect(out).toMatch(/^DRIVER\s+SERIAL\s+BUS\s+DESCRIPTION$/m);
    expect(out).toMatch(/^newport_1830c\s+9600 8N1\s+own\s+Newport/m);
    expect(out).toMatch(/^ell14\s+9600 8N1\s+shared\s+x+…$/m);
    expect(widest(out)).toBeLessThanOrEqual(80);
  });

  it('drivers show: parameters with kind, type, unit, range, read-back; readings', () => {
    const out = formatDriver(meter, 80);
    expect(out).toMatch(/^wavelength_nm\s+setpoint\s+integer\s+nm\s+400\.\.1100\s+yes$/m);
    expect(out).toMatch(/^filter\s+setpoint\s+enum\s+-\s+slow\|medium\|fast\s+yes$/m);
    expect(out).toMatch(/^emission\s+action\s+boolean\s+-\s+-\s+no$/m);
    expect(out).toMatch(/^power\s+number\s+W\s+Optical power$/m);
  });

  it('ports: vendor:product, serial, who uses it; by-id names in full below', () => {
    const byId = '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5XYZ-if00-port0';
    const out = formatPorts(
      [
        { path: '/dev/ttyUSB0', byId, vendorId: '0403', productId: '6001', serialNumber: 'A10K5XYZ', manufacturer: 'FTDI', exists: true, usedBy: ['pm_real'] },
        { path: '/dev/pts/7', exists: true, usedBy: ['pm_pty'] },
        { path: '/dev/ttyUSB9', exists: false, usedBy: ['pm_gone'] },
      ],
      80,
    );
    expect(out).toMatch(/^\/dev\/ttyUSB0\s+0403:6001\s+A10K5XYZ\s+FTDI\s+pm_real$/m);
    expect(out).toMatch(/^\/dev\/pts\/7\s+-\s+-\s+-\s+pm_pty$/m);
    expect(out).toMatch(/^\/dev\/ttyUSB9\s.*pm_gone \(missing\)$/m);
    expect(out).toContain(`  /dev/ttyUSB0  ${byId}`);
    expect(formatPorts([])).toBe('no serial ports found');
  });
});

describe('enable / disable / restart', () => {
  it('the state reached, or why not', () => {
    expect(formatLifecycle('enabled', { id: 'laser', enabled: true, changed: ['enabled'], state: 'ready', persisted: { written: true } })).toBe('enabled laser (ready)');
    expect(formatLifecycle('enabled', { id: 'laser', enabled: true, changed: [], persisted: { written: false, reason: 'already enabled' } })).toBe('laser was already enabled');
    expect(formatLifecycle('disabled', { id: 'laser', enabled: false, changed: ['enabled'], persisted: { written: false, reason: 'persist: false' } })).toBe(
      'disabled laser (port closed, not polled)\n(config file not updated: persist: false)',
    );
    expect(formatLifecycle('restarted', { id: 'laser', restarted: true, state: 'ready' })).toBe('restarted laser (ready)');
    const failed = { id: 'pm9', state: 'error', error: { kind: 'port_error', message: 'pm9: cannot open /dev/ttyUSB9' } };
    expect(addOutcome(failed, true)).toBe('failed');
    expect(connectProblem(failed, 'failed', 10)).toBe('pm9 did not connect: pm9: cannot open /dev/ttyUSB9 [port_error] (it keeps retrying; daqctl disable pm9 to stop it)');
  });
});

describe('modules', () => {
  it('one status per module, trips and alarms first', () => {
    expect(moduleSummary({ type: 'interlock', status: { tripped: true, cause: 'limit', reason: 'pm1.power = 0.0031 is above the limit 0.002' } })).toBe(
      'TRIPPED: pm1.power = 0.0031 is above the limit 0.002',
    );
    expect(moduleSummary({ type: 'interlock', status: { tripped: false, lastValue: 4.99e-4, unit: 'W' } })).toBe('ok 499.0 µW');
    expect(moduleSummary({ type: 'monitor', status: { alarm: true, side: 'high', lastValue: 26.1, unit: 'degC', limits: 'low 15, high 25' } })).toBe('ALARM: high 26.10 degC (low 15, high 25)');
    expect(moduleSummary({ type: 'monitor', status: { alarm: false, stale: true, staleSince: 'T' } })).toBe('STALE: no reading since T');
    expect(moduleSummary({ type: 'derived', status: { output: 'transmission', lastValue: 0.9932095 } })).toBe('transmission = 0.9932');
    expect(moduleSummary({ type: 'derived', status: { output: 't', lastValue: null, note: 'stale: ref.power' } })).toBe('t = - - stale: ref.power');
    const list = formatModuleList(
      [{ id: 'sample_guard', type: 'interlock', state: 'running', roles: { sensor: 'pm_sample', actuator: 'laser' }, status: { tripped: false, lastValue: 5e-4, unit: 'W' } }],
      80,
    );
    expect(list).toMatch(/^sample_guard\s+interlock\s+running\s+sensor=pm_sample actuator=laser\s+ok 500\.0 µW$/m);
  });
});

describe('memory-only changes', () => {
  const status: DaemonStatusView = {
    version: '0.1.0',
    pid: 1,
    uptimeS: 3,
    configPath: '/lab/config/default.toml',
    instruments: { total: 1, ready: 1 },
    modules: { total: 0 },
    persistence: { enabled: true, upToDate: false, reason: 'changes kept in memory only (overrides) are not in the file; daqctl sync writes them' },
    lastReload: { outcome: 'applied', at: 'T', summary: '+pm1' },
    overrides: [
      { path: 'instruments.pm1.params.wavelength_nm', kind: 'set', value: 633, file: 800 },
      { path: 'instruments.pm2', kind: 'add', value: { driver: 'newport_1830c' } },
    ],
  };

  it('status lists them', () => {
    const out = formatStatus(status, 80);
    expect(out).toContain('memory only: 2 changes not in the file (daqctl sync writes them):');
    expect(out).toContain('  instruments.pm1.params.wavelength_nm = 633 (file: 800)');
    expect(out).toContain('  instruments.pm2 = (a table) (not in the file)');
  });

  it('get lists those of the instrument', () => {
    const out = formatInstrument(
      {
        id: 'pm1',
        driver: 'newport_1830c',
        port: 'sim',
        state: 'ready',
        pollIntervalMs: 500,
        params: { wavelength_nm: 633 },
        lastReading: null,
        lastError: null,
        polls: 0,
        pollErrors: 0,
        overrides: [{ path: 'instruments.pm1.params.wavelength_nm', kind: 'set', value: 633, file: 800 }],
      },
      80,
    );
    expect(out).toContain('memory:  params.wavelength_nm = 633 (file: 800), not in the file (daqctl sync writes it)');
  });

  it('reload says which it kept and which the edit replaced', () => {
    const out = formatReload({
      outcome: 'applied',
      at: 'T',
      durationMs: 11.118575000000419,
      source: 'socket',
      summary: '~pm1(filter)',
      overrides: { kept: [{ path: 'instruments.pm1.params.attenuator', kind: 'set', value: true, file: false }], replaced: [{ path: 'instruments.pm1.params.wavelength_nm', kind: 'set', value: 633, file: 800 }], note: 'the edit replaced memory-only change(s) of instruments.pm1.params.wavelength_nm' },
    });
    expect(out.split('\n')).toEqual([
      'applied at T in 11.1 ms (socket): ~pm1(filter)',
      'the edit replaced memory-only change(s) of instruments.pm1.params.wavelength_nm',
      '  replaced by the edit: instruments.pm1.params.wavelength_nm = 633 (file: 800)',
      'kept 1 memory-only change the edit did not touch (daqctl status lists them)',
    ]);
  });
});
