/**
 * The change history through a real daqd (issue #22): a set from the socket is recorded with the
 * device's value before; `daqctl`'s history.revert puts that value back on the device at the far end
 * of a pty, and the revert is itself in the history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver as newport1830cDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl as runDaqctl, type RunResult } from '../helpers/run.js';

function daqctl(socket: string, ...args: string[]): Promise<RunResult> {
  return runDaqctl(socket, args);
}
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

describe('history.revert through a real daqd (pty device)', () => {
  let d: DaemonHandle;
  let meter: ServedDevice<Newport1830cSimulator>;

  beforeAll(async () => {
    meter = await serveOnPty(newport1830cDriver, new Newport1830cSimulator({ noise: 0 }));
    d = await startDaemon({
      config: `[application.dynamic_config]\nenable_persistence = true\nenable_hot_reload = false\n\n[instruments.pm]\ndriver = "newport_1830c"\nport = "${meter.pty.a}"\npoll_interval_ms = 100\n\n[instruments.pm.params]\nwavelength_nm = 800\n`,
    });
    await waitUntil(async () => (await d.call('instrument.get', { id: 'pm' })).state === 'ready', 15_000, 'pm ready');
  });
  afterAll(async () => {
    await d?.dispose();
    await meter?.close();
  });

  it('records a set with the old device value and reverts it on the device', async () => {
    meter.sim.state.wavelengthNm = 820; // someone turned the knob: the device holds 820
    await d.call('instrument.get', { id: 'pm', refresh: true });
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 1000 } });
    expect(meter.sim.state.wavelengthNm).toBe(1000);
    const { entries } = await d.call('history.list', { instrument: 'pm', param: 'wavelength_nm' });
    expect(entries[0]).toMatchObject({ old: 820, new: 1000, source: 'socket', instrument: 'pm', param: 'wavelength_nm' });
    const mark = meter.wire.length;
    const r = await d.call('history.revert', { change: entries[0].id });
    expect(r).toMatchObject({ reverted: entries[0].id, params: { wavelength_nm: 820 } });
    expect(meter.since(mark, /^W0820$/).length).toBe(1);
    expect(meter.sim.state.wavelengthNm).toBe(820);
    const after = await d.call('history.list', { limit: 1 });
    expect(after.entries[0]).toMatchObject({ source: 'history', sourceId: entries[0].id, old: 1000, new: 820 });
    await expect(d.call('history.revert', { change: 'nope' })).rejects.toMatchObject({ message: expect.stringMatching(/no change/) });
  });

  it('daqctl history lists and daqctl revert reverts; schedule add/list/cancel', async () => {
    await d.call('instrument.set', { id: 'pm', params: { wavelength_nm: 700 } });
    const list = await daqctl(d.socketPath, 'history', '--instrument', 'pm', '--limit', '1');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/pm\.wavelength_nm\s+820 -> 700\s+socket/);
    const id = /^(\d+-\d+)/m.exec(list.stdout.split('\n')[1] ?? '')![1]!;
    const rev = await daqctl(d.socketPath, 'revert', id);
    expect(rev.code, rev.stderr).toBe(0);
    expect(meter.sim.state.wavelengthNm).toBe(820);
    const add = await daqctl(d.socketPath, 'schedule', 'add', '--id', 'later', 'type=at', 'instrument=pm', 'param=wavelength_nm', 'value=900', 'at=2099-01-01T00:00:00Z');
    expect(add.code, add.stderr).toBe(0);
    expect((await daqctl(d.socketPath, 'schedule')).stdout).toMatch(/later\s+at\s+pm\.wavelength_nm\s+active/);
    expect((await daqctl(d.socketPath, 'schedule', 'cancel', 'later')).code).toBe(0);
  });
});
