/**
 * Fail-safe interlocks (issue #15): a sensor that goes silent, fails, saturates or changes units
 * trips the interlock; `on_sensor_loss = "hold"` spares only the silent and failed cases; a reset
 * is refused while the cause persists. Time is a FakeClock: nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import { interlock, SETTINGS } from './interlock-harness.js';
import { instrumentInfos } from './types-context.js';

const CLOSE = 'laser.shutter=false module:guard';

describe('interlock trips when the sensor goes stale', () => {
  it('after three poll intervals without a reading by default, through hold and enforce', () => {
    const g = interlock();
    expect(g.instance.status()).toMatchObject({ maxAgeMs: 1500, maxAgeFrom: "default: 3 x meter's poll interval of 500 ms", stale: false });
    g.clock.advance(400);
    g.feed(1.0);
    g.clock.advance(1499);
    expect(g.events()).toEqual([]);
    g.clock.advance(1);
    expect(g.events()).toHaveLength(1);
    expect(g.events()[0]).toMatchObject({ tripped: true, cause: 'stale' });
    expect(g.events()[0]!.message).toBe(
      "tripped: meter.power_w has not been read for 1.5 s (max_age_ms = 1500, default: 3 x meter's poll interval of 500 ms): the interlock cannot see it; setting laser.shutter = false and holding it until reset",
    );
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);
    expect(g.instance.status()).toMatchObject({ tripped: true, cause: 'stale', stale: true });
  });

  it('not while readings keep coming; a sensor that never reports trips max_age after the start', () => {
    const g = interlock();
    for (let i = 0; i < 20; i++) {
      g.clock.advance(1000);
      g.feed(1.0);
    }
    expect(g.events()).toEqual([]);

    const silent = interlock();
    silent.clock.advance(1500);
    expect(silent.events()[0]).toMatchObject({ cause: 'stale' });
  });

  it('readings that are not numbers do not count as fresh', () => {
    const g = interlock();
    g.clock.advance(1000);
    g.instance.handleEvent({ type: 'reading', instrument: 'meter', seq: 1, ts: new Date(g.clock.now()).toISOString(), values: { power_w: 'OVER' } });
    g.clock.advance(500);
    expect(g.events()[0]).toMatchObject({ cause: 'stale' });
  });

  it('max_age_ms overrides the default; the default is at least 1000 ms and follows the poll interval live', () => {
    expect(interlock({ ...SETTINGS, max_age_ms: 5000 }).instance.status()).toMatchObject({ maxAgeMs: 5000, maxAgeFrom: 'max_age_ms' });
    const fast = interlock(SETTINGS, { infos: instrumentInfos({ meter: 100, laser: 1000 }) });
    expect(fast.instance.status()).toMatchObject({ maxAgeMs: 1000, maxAgeFrom: "default: 3 x meter's poll interval of 100 ms, at least 1000 ms" });

    // Someone slows the meter down to one poll every 10 s: the interlock waits 30 s, not 1.5.
    const g = interlock();
    g.infos.set('meter', { state: 'ready', pollIntervalMs: 10_000, lastError: null });
    g.clock.advance(29_999);
    expect(g.events()).toEqual([]);
    g.clock.advance(1);
    expect(g.events()[0]).toMatchObject({ cause: 'stale' });
  });

  it('does not count the time the sensor spends connecting; the clock starts when it is ready', () => {
    const g = interlock();
    g.state('meter', 'connecting');
    g.clock.advance(10_000);
    expect(g.events()).toEqual([]);
    g.state('meter', 'ready');
    g.clock.advance(1499);
    expect(g.events()).toEqual([]);
    g.clock.advance(1);
    expect(g.events()[0]).toMatchObject({ cause: 'stale' });
  });

  it('a disabled sensor is blind: it trips', () => {
    const g = interlock();
    g.state('meter', 'disabled');
    g.clock.advance(1500);
    expect(g.events()[0]).toMatchObject({ cause: 'stale' });
  });

  it('refuses a reset while stale, accepts it after a fresh reading within the limit', () => {
    const g = interlock();
    g.feed(1.0);
    g.clock.advance(1500);
    const refused = g.resetError();
    expect(refused?.kind).toBe('conflict');
    expect(refused?.message).toBe(
      'interlock guard stays tripped: meter.power_w was last read 1.5 s ago (max_age_ms = 1500): the interlock cannot see it; get meter reporting again, then reset',
    );
    g.feed(1.0);
    expect(g.resetError()).toBeUndefined();
    expect(g.instance.status()).toMatchObject({ tripped: false, stale: false });
    // And the clock runs again: silent again, tripped again.
    g.clock.advance(1500);
    expect(g.events().map((e) => [e.tripped, e.cause])).toEqual([
      [true, 'stale'],
      [false, undefined],
      [true, 'stale'],
    ]);
  });
});

describe('interlock trips when the sensor goes to error', () => {
  const TIMEOUT = { kind: 'timeout', message: 'meter did not answer D? within 500 ms' };

  it('at once, naming the error; a reset needs the sensor back and a reading taken after that', () => {
    const g = interlock();
    g.feed(1.0);
    g.state('meter', 'error', TIMEOUT);
    expect(g.events()[0]).toMatchObject({ tripped: true, cause: 'sensor_error' });
    expect(g.events()[0]!.message).toBe(
      'tripped: meter is in error (meter did not answer D? within 500 ms): the interlock cannot see meter.power_w; setting laser.shutter = false and holding it until reset',
    );
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);

    expect(g.resetError()?.message).toBe(
      "interlock guard stays tripped: meter is in error (meter did not answer D? within 500 ms): the interlock cannot see meter.power_w; fix meter's connection, then reset",
    );
    g.state('meter', 'connecting');
    g.state('meter', 'ready');
    expect(g.resetError()?.message).toBe('interlock guard stays tripped: there is no reading of meter.power_w to show it is back within the limit');
    g.feed(1.0);
    expect(g.resetError()).toBeUndefined();
  });

  it('when the sensor is already in error as the interlock starts', () => {
    const infos = instrumentInfos({ meter: 500, laser: 1000 });
    infos.set('meter', { state: 'error', pollIntervalMs: 500, lastError: TIMEOUT });
    const g = interlock(SETTINGS, { infos });
    expect(g.events()[0]).toMatchObject({ tripped: true, cause: 'sensor_error' });
    expect(g.safety.enforces).toHaveLength(1);
  });

  it('from the events alone when the context gives no instrument info', () => {
    const g = interlock(SETTINGS, { noInfo: true });
    g.instance.handleEvent({ type: 'instrument.state', instrument: 'meter', state: 'error', error: TIMEOUT });
    expect(g.events()[0]).toMatchObject({ cause: 'sensor_error' });
    expect(g.resetError()?.message).toContain('meter is in error');
  });

  it('not when another instrument fails', () => {
    const g = interlock();
    g.state('laser', 'error', TIMEOUT);
    g.instance.handleEvent({ type: 'instrument.state', instrument: 'dmm', state: 'error' });
    expect(g.events()).toEqual([]);
  });
});

describe('interlock trips on a reading flagged saturated or invalid', () => {
  it('saturated trips an above limit even when the number shown is below it; reset refused while saturated', () => {
    const g = interlock({ ...SETTINGS, above: 5e-3 });
    g.sensor(2e-3, { flags: { power_w: 'saturated' } });
    expect(g.events()[0]).toMatchObject({ tripped: true, cause: 'saturated' });
    expect(g.events()[0]!.message).toBe(
      'tripped: meter.power_w reads 0.002 but is flagged saturated: the true value may be higher, so it may be above the limit 0.005; setting laser.shutter = false and holding it until reset',
    );
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);

    g.sensor(2e-3, { flags: { power_w: 'saturated' } });
    expect(g.resetError()?.message).toBe(
      'interlock guard stays tripped: meter.power_w reads 0.002 but is flagged saturated: the true value may be higher, so it may be above the limit 0.005; bring meter back into its range (less light on it, or its attenuator in), then reset',
    );
    g.sensor(1e-6);
    expect(g.resetError()).toBeUndefined();
  });

  it('over_range trips an above limit too; a flag on another reading does not count', () => {
    const g = interlock();
    g.instance.handleEvent({ type: 'reading', instrument: 'meter', seq: 1, ts: new Date().toISOString(), values: { power_w: 1, temp: 99 }, flags: { temp: 'over_range' } });
    expect(g.events()).toEqual([]);
    g.sensor(1, { flags: { power_w: 'over_range' } });
    expect(g.events()[0]).toMatchObject({ cause: 'saturated' });
  });

  it('for a below-only limit: saturated is the safe side, under_range and invalid trip', () => {
    const below = { reading: 'power_w', below: 0.1, parameter: 'shutter', value: false };
    const g = interlock(below);
    g.sensor(5, { flags: { power_w: 'saturated' } }); // at least 5: not below 0.1
    expect(g.events()).toEqual([]);
    g.sensor(0.2, { flags: { power_w: 'under_range' } }); // at most 0.2: may be below 0.1
    expect(g.events()[0]).toMatchObject({ cause: 'invalid' });
    expect(g.events()[0]!.message).toContain('meter.power_w reads 0.2 but is flagged under_range: the true value may be lower, so it may be below the limit 0.1');

    const h = interlock(below);
    h.sensor(0.5, { flags: { power_w: 'invalid' } });
    expect(h.events()[0]).toMatchObject({ cause: 'invalid' });
  });

  it('for an above-only limit: under_range within the limit does not trip, invalid does', () => {
    const g = interlock();
    g.sensor(0.01, { flags: { power_w: 'under_range' } });
    expect(g.events()).toEqual([]);
    g.sensor(0.01, { flags: { power_w: 'invalid' } });
    expect(g.events()[0]).toMatchObject({ cause: 'invalid' });
  });
});

describe('interlock trips when the reading changes units', () => {
  it('the limit is in the declared unit by default; a reading in another trips, naming both', () => {
    const g = interlock({ ...SETTINGS, above: 0.005 });
    expect(g.instance.status()).toMatchObject({ unit: 'W' });
    g.sensor(0.001, { units: { power_w: 'W' } });
    g.sensor(0.001); // no units in the event: the declared one
    expect(g.events()).toEqual([]);
    g.sensor(-3, { units: { power_w: 'dBm' } }); // -3 dBm is below 0.005, which means nothing
    expect(g.events()[0]).toMatchObject({ tripped: true, cause: 'unit' });
    expect(g.events()[0]!.message).toBe(
      'tripped: meter.power_w is now in dBm, the limit 0.005 is in W; setting laser.shutter = false and holding it until reset',
    );
    expect(g.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);

    expect(g.resetError()?.message).toBe(
      'interlock guard stays tripped: meter.power_w is now in dBm, the limit 0.005 is in W; set meter back to W, or give the interlock unit = "<the new unit>" with limits in that unit, then reset',
    );
    g.sensor(0.001, { units: { power_w: 'W' } });
    expect(g.resetError()).toBeUndefined();
  });

  it('the unit setting names the limit unit: readings in it are compared, readings in the declared one trip', () => {
    const g = interlock({ ...SETTINGS, above: 3, unit: 'dBm' });
    expect(g.instance.status()).toMatchObject({ unit: 'dBm' });
    g.sensor(-3, { units: { power_w: 'dBm' } });
    expect(g.events()).toEqual([]);
    g.sensor(5, { units: { power_w: 'dBm' } });
    expect(g.events()[0]).toMatchObject({ cause: 'limit' });

    const h = interlock({ ...SETTINGS, unit: 'dBm' });
    h.sensor(0.001);
    expect(h.events()[0]).toMatchObject({ cause: 'unit' });
    expect(h.events()[0]!.message).toContain('meter.power_w is now in W, the limit 1.5 is in dBm');
  });

  it('without a known unit nothing is compared: the status says unit null', () => {
    const g = interlock(SETTINGS, { declared: { meter: [{ name: 'power_w', type: 'number', description: 'no unit' }] } });
    expect(g.instance.status()).toMatchObject({ unit: null });
    g.sensor(1, { units: { power_w: 'dBm' } });
    expect(g.events()).toEqual([]);
  });

  it('names both limits when there are two', () => {
    const g = interlock({ ...SETTINGS, below: 0.5 });
    g.sensor(1, { units: { power_w: 'mW' } });
    expect(g.events()[0]!.message).toContain('meter.power_w is now in mW, the limits 0.5 (below) and 1.5 (above) are in W');
  });
});

describe('on_sensor_loss = "hold"', () => {
  const HOLD = { ...SETTINGS, on_sensor_loss: 'hold' };

  it('does not trip on a stale or failed sensor, and says so in the status', () => {
    const g = interlock(HOLD);
    expect(g.instance.status()).toMatchObject({ onSensorLoss: 'hold' });
    expect(g.instance.status().warning).toBe(
      'on_sensor_loss = "hold": if meter goes stale or to error the interlock does not trip, and cannot see meter.power_w meanwhile (unsafe)',
    );
    g.clock.advance(10_000);
    g.state('meter', 'error', { kind: 'timeout', message: 'no answer' });
    expect(g.events()).toEqual([]);
    expect(g.safety.calls).toEqual([]);
    expect(g.instance.status()).toMatchObject({ tripped: false, stale: true, sensorLost: 'meter is in error (no answer): the interlock cannot see meter.power_w' });
    g.state('meter', 'ready');
    g.feed(1.0);
    expect(g.instance.status()).not.toHaveProperty('sensorLost');
  });

  it('still trips on saturation, on a unit change and on the limit', () => {
    for (const [meta, cause] of [
      [{ flags: { power_w: 'saturated' as const } }, 'saturated'],
      [{ units: { power_w: 'dBm' } }, 'unit'],
      [{}, 'limit'],
    ] as const) {
      const g = interlock(HOLD);
      g.clock.advance(5000); // stale, not tripped
      g.sensor(cause === 'limit' ? 2 : 1, meta);
      expect(g.events().map((e) => e.cause)).toEqual([cause]);
      expect(g.safety.holds).toHaveLength(1);
    }
  });

  it('a reset still needs a fresh reading: the interlock must see the value is safe', () => {
    const g = interlock(HOLD);
    g.feed(2);
    g.clock.advance(5000);
    expect(g.resetError()?.message).toContain('meter.power_w was last read 5.0 s ago');
  });
});

describe('the trip is runtime state', () => {
  it('status says it is not persisted, and the cause survives a reconfiguration', () => {
    const g = interlock();
    g.sensor(1, { units: { power_w: 'dBm' } });
    const status = g.instance.status();
    expect(status).toMatchObject({ persisted: false, cause: 'unit', target: 'laser.shutter = false' });
    const next = interlock(SETTINGS, { previous: status, safety: g.safety, clock: g.clock });
    expect(next.instance.status()).toMatchObject({ tripped: true, cause: 'unit', reason: 'meter.power_w is now in dBm, the limit 1.5 is in W' });
  });

  it('dispose stops the stale timer and releases the hold', () => {
    const g = interlock();
    g.feed(2);
    expect(g.clock.pending).toBe(1);
    g.instance.dispose();
    expect(g.clock.pending).toBe(0);
    expect(g.safety.holds).toEqual([]);
    g.clock.advance(60_000);
    g.feed(5);
    expect(g.events()).toHaveLength(1);
  });
});
