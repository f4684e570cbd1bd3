/**
 * The module supervisor and a tripped interlock: a reconfiguration hands the latch and the safety
 * hold over with no gap and no late release, and instrument state changes reach the instances (an
 * interlock trips when its sensor fails). The supervisor is the real one; the safety lane and the
 * clock are fakes.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ConfigView } from '../../src/config/model.js';
import { EventBus, type DaemonEvent } from '../../src/core/events.js';
import { ModuleSupervisor } from '../../src/modules/supervisor.js';
import type { InstrumentInfo } from '../../src/modules/types.js';
import { FakeClock, FakeSafetyLane, instrumentInfos } from './types-context.js';

const GUARD = { type: 'interlock', reading: 'power', above: 1e-3, parameter: 'shutter', value: false, roles: { sensor: 'pm', actuator: 'laser' } };
const CLOSE = 'laser.shutter=false module:guard';

function config(guard: Record<string, unknown>): ConfigView {
  return { modules: { guard } } as unknown as ConfigView;
}

function supervisor() {
  const events = new EventBus();
  const emitted: DaemonEvent[] = [];
  events.subscribe((e) => emitted.push(e));
  const safety = new FakeSafetyLane();
  const clock = new FakeClock();
  const infos: Map<string, InstrumentInfo> = instrumentInfos({ pm: 500, laser: 1000 });
  const submits: unknown[] = [];
  const modules = new ModuleSupervisor(
    events,
    pino({ level: 'silent' }),
    async (command) => {
      submits.push(command);
      return {};
    },
    () => true,
    safety,
    (id) => infos.get(id),
    clock,
  );
  const power = (value: number) => events.emit({ type: 'reading', instrument: 'pm', seq: 1, ts: new Date(clock.now()).toISOString(), values: { power: value } });
  const interlockEvents = () => emitted.filter((e): e is Extract<DaemonEvent, { type: 'module.interlock' }> => e.type === 'module.interlock');
  return { events, safety, clock, infos, modules, submits, power, interlockEvents };
}

describe('module supervisor with a tripped interlock', () => {
  it('reconfiguring it keeps the hold: the old instance releases, the new one holds, in that order, synchronously', async () => {
    const s = supervisor();
    s.modules.sync(config(GUARD), new Map());
    s.power(2e-3);
    expect(s.safety.calls).toEqual([`hold ${CLOSE}`, `enforce ${CLOSE}`]);
    const oldEnforce = s.safety.enforces[0]!; // still in flight

    s.modules.sync(config({ ...GUARD, description: 'edited while tripped' }), new Map());
    // Nothing ran between the release and the new hold: both happened inside sync().
    expect(s.safety.calls.slice(2)).toEqual(['release module:guard', `hold ${CLOSE}`, `enforce ${CLOSE}`]);
    expect(s.safety.refuses('laser', 'shutter', true)).toBe('module:guard');
    expect(s.modules.view('guard')!.status).toMatchObject({ tripped: true, cause: 'limit', holding: true });

    // The old instance's enforce finishing late must not touch the new one's hold.
    oldEnforce.resolve();
    await oldEnforce.settled;
    expect(s.safety.calls.filter((c) => c.startsWith('release'))).toHaveLength(1);
    expect(s.safety.refuses('laser', 'shutter', true)).toBe('module:guard');
    expect(s.submits).toEqual([]);
  });

  it('a reset through the supervisor releases the hold; removing a tripped interlock releases it too', () => {
    const s = supervisor();
    s.modules.sync(config(GUARD), new Map());
    s.power(2e-3);
    s.power(1e-4);
    s.modules.reset('guard');
    expect(s.safety.holds).toEqual([]);

    s.power(2e-3);
    expect(s.safety.holds).toHaveLength(1);
    s.modules.sync({ modules: {} } as unknown as ConfigView, new Map());
    expect(s.safety.holds).toEqual([]);
  });

  it('routes instrument state changes of role instruments to the instance: a sensor error trips it', () => {
    const s = supervisor();
    s.modules.sync(config(GUARD), new Map());
    s.infos.set('pm', { state: 'error', pollIntervalMs: 500, lastError: { kind: 'timeout', message: 'pm did not answer' } });
    s.events.emit({ type: 'instrument.state', instrument: 'pm', state: 'error', error: { kind: 'timeout', message: 'pm did not answer' } });
    expect(s.interlockEvents().map((e) => e.message)).toEqual([
      'tripped: pm is in error (pm did not answer): the interlock cannot see pm.power; setting laser.shutter = false and holding it until reset',
    ]);
    expect(s.safety.holds).toHaveLength(1);
  });

  it('gives the instance its clock: a silent sensor trips after three poll intervals', () => {
    const s = supervisor();
    s.modules.sync(config(GUARD), new Map());
    s.clock.advance(1499);
    expect(s.interlockEvents()).toEqual([]);
    s.clock.advance(1);
    expect(s.interlockEvents()).toHaveLength(1);
    expect(s.modules.view('guard')!.status).toMatchObject({ cause: 'stale' });
  });
});

describe('a tripped interlock without an instance for a while', () => {
  it('carries the latch while a role is unassigned, and holds and enforces again when it runs again', async () => {
    const s = supervisor();
    s.modules.sync(config(GUARD), new Map());
    s.power(2e-3);
    await s.safety.confirmLast();
    expect(s.modules.view('guard')!.status).toMatchObject({ tripped: true, action: 'done' });

    s.modules.sync(config({ ...GUARD, roles: { sensor: 'pm' } }), new Map());
    expect(s.modules.view('guard')).toMatchObject({ state: 'degraded', status: { tripped: true } });
    expect(s.safety.holds).toEqual([]); // nothing acts for a module without an instance

    s.modules.sync(config(GUARD), new Map());
    // The old confirmation is stale: the shutter may have been opened meanwhile.
    expect(s.safety.calls.slice(-3)).toEqual(['release module:guard', `hold ${CLOSE}`, `enforce ${CLOSE}`]);
    expect(s.modules.view('guard')!.status).toMatchObject({ tripped: true, holding: true, action: 'pending' });
  });
});

describe("a module's timer that throws", () => {
  it('is logged under the module and goes no further: the timer does not throw (in daqd it would end the process)', () => {
    const events = new EventBus();
    const clock = new FakeClock();
    const infos: Map<string, InstrumentInfo> = instrumentInfos({ pm: 500, laser: 1000 });
    let broken = false;
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const modules = new ModuleSupervisor(events, log, async () => ({}), () => true, new FakeSafetyLane(), (id) => {
      if (broken) throw new Error('instrument info is not available');
      return infos.get(id);
    }, clock);
    modules.sync(config(GUARD), new Map());
    events.emit({ type: 'reading', instrument: 'pm', seq: 1, ts: new Date(clock.now()).toISOString(), values: { power: 1e-6 } });
    broken = true;
    // The stale-sensor check runs in a timer and asks for the sensor's state: that throws now.
    expect(() => clock.advance(60_000)).not.toThrow();
    expect(lines.join('')).toMatch(/module guard failed in a timer: .*instrument info is not available/);
  });
});
