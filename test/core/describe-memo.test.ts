/**
 * instrument.get reuses its last answer while nothing it shows changed (issue 25: scripts ask it in
 * loops). It must never answer stale: each change below is one that happens without an xstate
 * transition (written in place: poll counters, device values, the operation in flight, holds, the
 * configured values), and each shows in the very next answer. The reading, hold and busy checks
 * each fail if that part is left out of the stamp the answer is reused on (viewStamp); device
 * values have their own check in set-queue.test.ts (here other parts change with them), and the
 * configured values change with the running config, which the memo is keyed on too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInProcess, reading, type InProcess } from './helpers.js';

const CONFIG = `
[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 3600000
params = { wavelength_nm = 800 }

[instruments.meter]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.stage]
driver = "esp300"
port = "sim"
axes = [1]
poll_interval_ms = 3600000
`;

let d: InProcess | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

async function ready(ids: string[]): Promise<InProcess> {
  d = await startInProcess(CONFIG);
  for (const id of ids) await d.daemon.waitForConnection(id, 10_000);
  return d;
}

describe('instrument.get reused while nothing changed', () => {
  it('is the same answer while nothing changed, and a new one after a set (device values, configured values, overrides)', async () => {
    const { daemon } = await ready(['pm']);
    const first = await daemon.describeInstrument('pm');
    expect(await daemon.describeInstrument('pm')).toBe(first);

    // The value the config already holds: only the device's confirmation (deviceAt) changes.
    const before = first.deviceAt;
    await daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 800 } }, 'test');
    const confirmed = await daemon.describeInstrument('pm');
    expect(confirmed).not.toBe(first);
    expect(confirmed.deviceAt).not.toBe(before);

    // A memory-only change: configured value, device value and the override all show at once.
    await daemon.submit({ type: 'instrument.set', id: 'pm', params: { wavelength_nm: 633 }, persist: false }, 'test');
    const changed = await daemon.describeInstrument('pm');
    expect(changed.params.wavelength_nm).toBe(633);
    expect(changed.device.wavelength_nm).toBe(633);
    expect(changed.parameters.find((p) => p.name === 'wavelength_nm')).toMatchObject({ configured: 633, device: 633 });
    expect(changed.overrides).toEqual([expect.objectContaining({ path: 'instruments.pm.params.wavelength_nm', value: 633 })]);
  });

  it('shows a hold placed and released on the safety lane (no xstate event, no config change)', async () => {
    const { daemon } = await ready(['pm']);
    expect((await daemon.describeInstrument('pm')).holds).toEqual([]);
    daemon.safety.hold('pm', 'attenuator', true, 'module:guard');
    expect((await daemon.describeInstrument('pm')).holds).toEqual([{ param: 'attenuator', value: true, holder: 'module:guard' }]);
    daemon.safety.release('module:guard');
    expect((await daemon.describeInstrument('pm')).holds).toEqual([]);
  });

  it('shows each new reading and poll count (written in place by the poll loop)', async () => {
    const { daemon, waitFor, events } = await ready(['meter']);
    for (let i = 0; i < 3; i++) {
      const asked = await daemon.describeInstrument('meter');
      const seen = events.filter((e) => e.type === 'reading' && e.instrument === 'meter').length;
      const next = await waitFor((e) => reading('meter')(e) && events.filter((x) => x.type === 'reading' && x.instrument === 'meter').length > seen, 5000, 'the next reading');
      const after = await daemon.describeInstrument('meter');
      expect(after.lastReading?.seq).toBeGreaterThanOrEqual((next as { seq: number }).seq);
      expect(after.polls).toBeGreaterThan(asked.polls);
    }
  });

  it('shows the operation in flight on the device lane while it runs, and not after', async () => {
    const { daemon, waitFor } = await ready(['stage']);
    // Its first (and, within the test, only) poll done: nothing else changes the answer from here.
    await waitFor(reading('stage'), 5000, 'the stage\'s first reading');
    expect((await daemon.describeInstrument('stage')).busy).toBeNull();
    // The safety lane's move: straight to the device, with no command, revision or config change.
    const move = daemon.safety.enforce('stage', 'axis1_position', 2, 'module:guard');
    let busy = (await daemon.describeInstrument('stage')).busy;
    // The lane starts the move on its next turn; ask until it shows (a stale answer never would).
    while (busy === null) {
      await new Promise((r) => setImmediate(r));
      busy = (await daemon.describeInstrument('stage')).busy;
    }
    expect(busy.params).toEqual(['axis1_position']);
    await move;
    expect((await daemon.describeInstrument('stage')).busy).toBeNull();
  });
});
