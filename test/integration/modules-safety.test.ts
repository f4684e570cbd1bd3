/**
 * Module safety and freshness in a real daqd on simulated instruments: an interlock whose actuator has no reading of its parameter says it cannot supervise it; a derived module
 * stops publishing when one input goes silent, and a monitor raises a stale alarm. An instrument
 * "goes silent" by having its poll interval set to an hour, an ordinary live change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil, type DaemonHandle, type EventRecorder } from '../helpers/daemon.js';
import { startModulesDaemon } from './modules-helpers.js';

const CONFIG = `# Module safety bench.
[application.dynamic_config]
enable_persistence = true

# Sample meter: 1 mW of light, attenuated to 1 uW at start.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
sim = { power_w = 1e-3, noise = 0 }

[instruments.pm1.params]
attenuator = true

# Reference meter.
[instruments.pm2]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
sim = { power_w = 1e-3, noise = 0 }

[instruments.pm2.params]
attenuator = true

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 50

[instruments.laser.params]
shutter = true # open

# Close the shutter above 0.1 mW on the sample, and hold it closed.
[modules.guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm1"
actuator = "laser"

# Never trips here; its actuator has no "attenuator" reading.
[modules.blind]
type = "interlock"
reading = "power"
above = 1
parameter = "attenuator"
value = true

[modules.blind.roles]
sensor = "pm1"
actuator = "pm2"

[modules.ratio]
type = "derived"
expression = "sample.power / ref.power"
output = "ratio"
max_age_ms = 1000

[modules.ratio.roles]
sample = "pm1"
ref = "pm2"

[modules.ref_watch]
type = "monitor"
reading = "power"
high = 1
max_age_ms = 1000

[modules.ref_watch.roles]
source = "pm2"
`;

type Ev = { method: string; params: any };

describe('module safety and freshness in a running daqd', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;
  beforeAll(async () => {
    ({ d, rec } = await startModulesDaemon(CONFIG));
  });
  afterAll(async () => {
    rec?.close();
    await d?.dispose();
  });

  const statusOf = async (id: string) => (await d.call('module.get', { id })).status;

  // The tripped interlock against a person and the front panel: test/integration/interlock-safety-lane.test.ts.

  it('an interlock whose actuator has no reading of its parameter says it cannot supervise it', async () => {
    const status = await statusOf('blind');
    expect(status.supervised).toBe(false);
    expect(status.supervision).toBe('cannot supervise: pm2 provides no reading "attenuator", so a change back while tripped is not seen');
  });

  it('a silent input stops the derived reading and raises the monitor stale alarm; both recover', async () => {
    const ratioReadings = () => rec.events.filter((e) => e.method === 'module.reading' && e.params.module === 'ratio');
    const staleAlarm = (active: boolean) => (e: Ev) =>
      e.method === 'module.alarm' && e.params.module === 'ref_watch' && e.params.cause === 'stale' && e.params.active === active;
    await waitUntil(() => ratioReadings().length > 0, 5000, 'a ratio reading');
    expect((await statusOf('ratio')).stale).toEqual([]);
    expect(rec.events.filter(staleAlarm(true))).toEqual([]);

    await d.call('instrument.set', { id: 'pm2', params: { poll_interval_ms: 3_600_000 } });
    const raised = await rec.waitFor(staleAlarm(true), 5000, 'the stale alarm');
    expect(raised.params.message).toMatch(/^pm2\.power has not been read for [\d.]+ s \(max_age_ms = 1000; last value [\d.e-]+\): the monitor cannot see it$/);
    const ratio = await waitUntil(async () => {
      const s = await statusOf('ratio');
      return s.stale.includes('ref.power') ? s : undefined;
    }, 5000, 'the ratio to name its stale input');
    expect(ratio.note).toMatch(/^stale: ref\.power \(last read [\d.]+ s ago\) is older than max_age_ms = 1000; no reading published$/);

    // pm1 keeps reporting, yet no ratio is computed from pm2's old value.
    const published = ratioReadings().length;
    const mark = rec.events.length;
    await waitUntil(() => rec.events.slice(mark).filter((e) => e.method === 'reading' && e.params.instrument === 'pm1').length >= 5, 5000, 'five more pm1 readings');
    expect(ratioReadings()).toHaveLength(published);
    expect((await statusOf('ref_watch')).stale).toBe(true);

    await d.call('instrument.set', { id: 'pm2', params: { poll_interval_ms: 50 } });
    const cleared = await rec.waitFor(staleAlarm(false), 5000, 'the stale alarm to clear');
    expect(cleared.params.message).toMatch(/^pm2\.power is read again \(.+\) after \d+\.\d s$/);
    await waitUntil(() => ratioReadings().length > published, 5000, 'ratio readings again');
    expect((await statusOf('ratio')).stale).toEqual([]);
    expect(rec.events.filter((e) => e.method === 'module.alarm' && e.params.module === 'ref_watch').map((e) => [e.params.cause, e.params.active])).toEqual([
      ['stale', true],
      ['stale', false],
    ]);
  });
});
