/**
 * Mixed commands at once (issue #15): sets run on each instrument's own lane while adds, removes
 * and role changes go through the config queue. Twelve clients fire sets on three meters (some of
 * them values the config already holds), a stage move, adds and removes of spare meters and role
 * assignments, all persisted. Afterwards: every request was answered; the file, read back, equals
 * the running config (instruments, configured parameters, module roles); no meter drifts (its
 * configured value is what its device holds); and a daqd restarted from that file runs the same set-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { mulberry32 } from '../helpers/prng.js';
import { readText } from './reload-helpers.js';

const SEED = 0x15c0;
const CLIENTS = 12;
const OPS = 10;
const METERS = ['pm1', 'pm2', 'pm3'];

const CONFIG = `# Mixed concurrency bench.
[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

${METERS.map((id) => `[instruments.${id}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 200\n\n[instruments.${id}.params]\nwavelength_nm = 800\n`).join('\n')}
[instruments.stage]
driver = "esp300"
port = "sim"
axes = [1]
poll_interval_ms = 200

[instruments.stage.params]
axis1_velocity = 20.0

[modules.watch]
type = "monitor"
reading = "power"
high = 1.0

[modules.watch.roles]
source = "pm1"
`;

interface RunningView {
  instruments: Record<string, Record<string, unknown>>;
  roles: Record<string, unknown>;
}

async function running(d: DaemonHandle): Promise<RunningView> {
  const list = (await d.call('instrument.list')).instruments as { id: string; params: Record<string, unknown> }[];
  const modules = (await d.call('module.list')).modules as { id: string; roles: Record<string, string> }[];
  return {
    instruments: Object.fromEntries(list.map((i) => [i.id, i.params]).sort()),
    roles: Object.fromEntries(modules.map((m) => [m.id, m.roles]).sort()),
  };
}

function fromFile(path: string): RunningView {
  const doc = parse(readText(path)) as { instruments?: Record<string, { params?: Record<string, unknown> }>; modules?: Record<string, { roles?: Record<string, string> }> };
  return {
    instruments: Object.fromEntries(Object.entries(doc.instruments ?? {}).map(([id, t]) => [id, { ...(t.params ?? {}) }]).sort()),
    roles: Object.fromEntries(Object.entries(doc.modules ?? {}).map(([id, m]) => [id, { ...(m.roles ?? {}) }]).sort()),
  };
}

describe('mixed commands from many clients at once', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: CONFIG });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'ready');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('answers everything, and the file equals the running config, before and after a restart', async () => {
    const random = mulberry32(SEED);
    const op = (client: number, i: number): (() => Promise<unknown>) => {
      const r = random();
      const meter = METERS[Math.floor(random() * METERS.length)]!;
      const spare = `spare${client}`;
      if (r < 0.5) {
        const nm = random() < 0.3 ? 800 : 400 + Math.floor(random() * 700); // some sets of the value the config holds
        return () => d.call('instrument.set', { id: meter, params: { wavelength_nm: nm } });
      }
      if (r < 0.6) return () => d.call('instrument.set', { id: 'stage', params: { axis1_position: Math.round(random() * 20) } });
      if (r < 0.75) return () => d.call('instrument.add', { id: spare, config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 500 } });
      if (r < 0.85) return () => d.call('instrument.remove', { id: spare, force: true });
      if (r < 0.95) return () => d.call('module.assign', { id: 'watch', role: 'source', instrument: random() < 0.5 ? meter : spare });
      return () => d.call('instrument.set', { id: meter, params: { filter: ['slow', 'medium', 'fast'][i % 3] } });
    };
    const plans = Array.from({ length: CLIENTS }, (_, c) => Array.from({ length: OPS }, (_, i) => op(c, i)));
    const outcomes = await Promise.all(
      plans.map(async (steps) => {
        const results: ('ok' | string)[] = [];
        for (const step of steps) {
          try {
            await step();
            results.push('ok');
          } catch (err) {
            // Refusals are answers (a spare that does not exist, an assignment to a removed one).
            expect(err).toBeInstanceOf(RpcError);
            results.push((err as RpcError).kind);
          }
        }
        return results;
      }),
    );
    const all = outcomes.flat();
    expect(all).toHaveLength(CLIENTS * OPS);
    expect(all.filter((k) => k === 'internal_error')).toEqual([]);
    expect(all.filter((k) => k === 'ok').length).toBeGreaterThan(CLIENTS * OPS * 0.6);

    const live = await running(d);
    expect(fromFile(d.configPath)).toEqual(live);
    // What each meter is configured to is what its device holds.
    for (const id of METERS) {
      const got = await d.call('instrument.get', { id, refresh: true });
      expect(got.drift).toEqual({});
    }
    // No action was written: the stage's position is not in the file.
    expect(readText(d.configPath)).not.toMatch(/axis1_position/);

    const dir = d.dir;
    expect(await d.stop()).toBe(0);
    d = await startDaemon({ config: undefined as unknown as string, dir });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'ready after restart');
    expect(await running(d)).toEqual(live);
  });
});
