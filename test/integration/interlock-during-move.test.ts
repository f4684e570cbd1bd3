/**
 * A trip during a long move (issue #15), through a real daqd with every device on a pty: the safe
 * bytes reach the actuator within one sensor poll and one exchange, whether the move is the
 * actuator's own (the same controller: it is stopped first, then driven to the safe position) or
 * another instrument's on another port (which keeps moving: nothing waits for it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driver as newportDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { esp300Driver } from '../../src/drivers/esp300/index.js';
import { Esp300Simulator } from '../../src/drivers/esp300/simulator.js';
import { maitaiDriver } from '../../src/drivers/maitai/index.js';
import { MaiTaiSimulator } from '../../src/drivers/maitai/simulator.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

const POLL_MS = 100;
/** One sensor poll plus one exchange, with room for a loaded CI machine. */
const BOUND_MS = POLL_MS + 400;

const config = (p: { meter: string; block: string; laser: string; other: string }) => `# Trips during moves.
[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[instruments.pm]
driver = "newport_1830c"
port = "${p.meter}"
poll_interval_ms = ${POLL_MS}

# A beam block on axis 1: the interlock drives it to 0 (in the beam).
[instruments.block]
driver = "esp300"
port = "${p.block}"
axes = [1]
poll_interval_ms = 200

[instruments.block.params]
axis1_velocity = 2.0

[instruments.laser]
driver = "maitai"
port = "${p.laser}"
poll_interval_ms = 200

# Another stage on its own port, moving while the laser's interlock trips.
[instruments.other]
driver = "esp300"
port = "${p.other}"
axes = [1]
poll_interval_ms = 200

[instruments.other.params]
axis1_velocity = 2.0

[modules.block_guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "axis1_position"
value = 0.0
tolerance = 0.01

[modules.block_guard.roles]
sensor = "pm"
actuator = "block"

[modules.shutter_guard]
type = "interlock"
reading = "power"
above = 1e-4
parameter = "shutter"
value = false

[modules.shutter_guard.roles]
sensor = "pm"
actuator = "laser"
`;

describe('an interlock trip during a long move', () => {
  let d: DaemonHandle;
  let meter: ServedDevice<Newport1830cSimulator>;
  let block: ServedDevice<Esp300Simulator>;
  let laser: ServedDevice<MaiTaiSimulator>;
  let other: ServedDevice<Esp300Simulator>;

  beforeAll(async () => {
    meter = await serveOnPty(newportDriver, new Newport1830cSimulator({ powerW: 1e-5, noise: 0 }));
    block = await serveOnPty(esp300Driver, new Esp300Simulator({ axes: [1] }));
    laser = await serveOnPty(maitaiDriver, new MaiTaiSimulator());
    other = await serveOnPty(esp300Driver, new Esp300Simulator({ axes: [1] }));
    d = await startDaemon({ config: config({ meter: meter.pty.a, block: block.pty.a, laser: laser.pty.a, other: other.pty.a }) });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 15_000, 'every instrument ready');
  });
  afterAll(async () => {
    await d?.dispose();
    for (const dev of [meter, block, laser, other]) await dev?.close();
  });

  it('stops the actuator\'s own move and drives it to the safe position; a move on another port does not delay the shutter', async () => {
    await d.call('instrument.set', { id: 'laser', params: { shutter: true } });
    // Two long moves: the beam block itself (the same controller as the safe value) and another stage.
    const blockMove = d.call('instrument.set', { id: 'block', params: { axis1_position: 20 } }).catch((e: unknown) => e);
    const otherMove = d.call('instrument.set', { id: 'other', params: { axis1_position: 20 } }).catch((e: unknown) => e);
    await waitUntil(() => block.sim.isMoving(1) && other.sim.isMoving(1), 5000, 'both stages moving');
    const blockMark = block.wire.length;
    const laserMark = laser.wire.length;

    // The light comes up (the front of the sensor, not a daqd command).
    const t0 = performance.now();
    meter.sim.control.powerW = 1e-3;

    await waitUntil(() => block.since(blockMark, /^1ST$/).length > 0, 5000, 'the stop at the beam block');
    await waitUntil(() => laser.since(laserMark, /^SHUTTER:0$/).length > 0, 5000, 'the shutter command');
    const stopAt = block.since(blockMark, /^1ST$/)[0]!.at - t0;
    const shutterAt = laser.since(laserMark, /^SHUTTER:0$/)[0]!.at - t0;
    expect(stopAt).toBeLessThan(BOUND_MS);
    expect(shutterAt).toBeLessThan(BOUND_MS);
    // The move on the other port went on: the shutter did not wait for it, and it was not aborted.
    expect(other.sim.isMoving(1)).toBe(true);

    // The block's move fails as aborted; the safe position follows once the axis is at rest.
    expect(((await blockMove) as { kind?: string }).kind).toBe('aborted');
    await waitUntil(() => block.since(blockMark, /^1PA0(\.0*)?$/).length > 0, 5000, 'the safe move');
    await waitUntil(() => !laser.sim.shutterOpen, 2000, 'the shutter closed');
    const guard = await d.call('module.get', { id: 'block_guard' });
    expect(guard.status.tripped).toBe(true);

    await d.call('instrument.abort', { id: 'other' });
    expect(((await otherMove) as { kind?: string }).kind).toBe('aborted');
  });
});
