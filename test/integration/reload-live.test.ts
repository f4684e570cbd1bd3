/**
 * What a reload does to the running set-up, seen from outside a real daqd child: instruments that
 * did not change keep their actor, port and every poll; a port change reconnects only that
 * instrument; a parameter change reaches the device live, without a reconnect; dependency order
 * holds for instruments and the modules that use them.
 */
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { driver as newport } from '../../src/drivers/newport_1830c/index.js';
import { hotReloadStatus, nth, saveByRename, seqBreaks, seqsOf, watcherSettled } from './reload-helpers.js';

interface Layout {
  tunedPort: string;
  tunedWavelength: number;
  moverPort: string;
  /** Second phase: gone + watch_gone removed, fresh + watch_fresh added, other re-parameterised. */
  phase2: boolean;
}

function config(l: Layout): string {
  const meter = (id: string, port: string, poll: number, params = '') =>
    `\n[instruments.${id}]\ndriver = "newport_1830c"\nport = "${port}"\npoll_interval_ms = ${poll}\n${params ? `\n[instruments.${id}.params]\n${params}\n` : ''}`;
  const monitor = (id: string, source: string) => `\n[modules.${id}]\ntype = "monitor"\nreading = "power"\nhigh = 1.0\n\n[modules.${id}.roles]\nsource = "${source}"\n`;
  return [
    '[application.dynamic_config]\nhot_reload_debounce_ms = 100\n',
    meter('steady', 'sim', 20, 'wavelength_nm = 800'),
    meter('tuned', l.tunedPort, 100, `wavelength_nm = ${l.tunedWavelength}`),
    meter('mover', l.moverPort, 50),
    l.phase2 ? meter('other', 'sim', 40, 'wavelength_nm = 1000\nattenuator = true') : meter('other', 'sim', 80, 'wavelength_nm = 900'),
    l.phase2 ? meter('fresh', 'sim', 50) + monitor('watch_fresh', 'fresh') : meter('gone', 'sim', 50) + monitor('watch_gone', 'gone'),
  ].join('');
}

describe('hot reload: what changes and what does not', () => {
  let daemon: DaemonHandle;
  let rec: EventRecorder;
  let mark = 0;
  const pairs: PtyPair[] = [];
  const servers: SimulatorServer[] = [];
  const sims: Newport1830cSimulator[] = [];
  let layout: Layout;

  async function servedMeter(): Promise<{ pair: PtyPair; sim: Newport1830cSimulator }> {
    const pair = await startPtyPair();
    const sim = new Newport1830cSimulator({ noise: 0 });
    servers.push(await serveSimulator({ path: pair.b, serial: newport.serial, simulators: [sim] }));
    pairs.push(pair);
    sims.push(sim);
    return { pair, sim };
  }

  function stateEvents(from: number, instrument?: string) {
    return rec.events.slice(from).filter((e) => e.method === 'instrument.state' && (!instrument || e.params.instrument === instrument));
  }

  async function reloadTo(next: Layout) {
    layout = next;
    const changes = (await hotReloadStatus(daemon)).changesSeen;
    saveByRename(daemon.configPath, config(next));
    const ev = await nth(rec, 'config.reloaded', 1, mark);
    await watcherSettled(daemon, changes + 1);
    return ev.params;
  }

  beforeAll(async () => {
    const tuned = await servedMeter();
    layout = { tunedPort: tuned.pair.a, tunedWavelength: 800, moverPort: 'sim', phase2: false };
    daemon = await startDaemon({ config: config(layout) });
    rec = await EventRecorder.subscribe(daemon, { types: ['config.', 'instrument.', 'module.added', 'module.removed', 'reading'] });
    await waitUntil(async () => (await daemon.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'every instrument ready');
  });
  afterAll(async () => {
    rec?.close();
    await daemon?.dispose();
    for (const s of servers) await s.close().catch(() => {});
    for (const p of pairs) await p.dispose();
  });
  beforeEach(async () => {
    await watcherSettled(daemon, (await hotReloadStatus(daemon)).changesSeen);
    mark = rec.events.length;
  });

  it('an unchanged instrument keeps its actor and every poll while others are added, removed and re-parameterised', async () => {
    await waitUntil(() => seqsOf(rec, 'steady').length >= 5, 5000, 'steady to be polling');
    const before = await daemon.call('instrument.get', { id: 'steady' });
    const seqAtMark = seqsOf(rec, 'steady').at(-1)!;
    const applied = await reloadTo({ ...layout, phase2: true });

    expect(applied.diff.instruments.added).toEqual(['fresh']);
    expect(applied.diff.instruments.removed).toEqual(['gone']);
    expect(Object.keys(applied.diff.instruments.changed)).toEqual(['other']);
    expect(applied.diff.instruments.changed.other).toMatchObject({
      reconnect: false,
      params: { wavelength_nm: { from: 900, to: 1000 }, attenuator: { to: true } },
      pollIntervalMs: { from: 80, to: 40 },
    });
    expect(applied.diff.modules.added).toEqual(['watch_fresh']);
    expect(applied.diff.modules.removed).toEqual(['watch_gone']);

    // Dependency order: the new instrument exists before the module that uses it; the old module
    // is gone before the instrument it used is stopped.
    const after = rec.events.slice(mark);
    const at = (pred: (e: { method: string; params: any }) => boolean) => after.findIndex(pred);
    const freshSpawned = at((e) => e.method === 'instrument.added' && e.params.instrument === 'fresh');
    const freshModule = at((e) => e.method === 'module.added' && e.params.module === 'watch_fresh');
    const goneModule = at((e) => e.method === 'module.removed' && e.params.module === 'watch_gone');
    const goneStopping = at((e) => e.method === 'instrument.state' && e.params.instrument === 'gone' && e.params.state === 'stopping');
    expect(freshSpawned).toBeGreaterThanOrEqual(0);
    expect(freshModule).toBeGreaterThan(freshSpawned);
    expect(goneModule).toBeGreaterThanOrEqual(0);
    expect(goneStopping).toBeGreaterThan(goneModule);
    expect(at((e) => e.method === 'instrument.removed' && e.params.instrument === 'gone')).toBeGreaterThan(goneStopping);
    expect(after.filter((e) => e.method === 'instrument.state' && e.params.instrument === 'fresh').map((e) => e.params.state)).toEqual(['connecting', 'ready']);

    // Let steady poll on for a while after the reload, then look at its whole sequence.
    const seqAtReload = seqsOf(rec, 'steady').at(-1)!;
    await waitUntil(() => seqsOf(rec, 'steady').at(-1)! >= seqAtReload + 10, 5000, '10 more steady readings');
    const seqs = seqsOf(rec, 'steady');
    expect(seqBreaks(seqs)).toEqual([]);
    expect(seqs.at(-1)!).toBeGreaterThan(seqAtMark + 10);
    expect(stateEvents(mark, 'steady')).toEqual([]);
    const now = await daemon.call('instrument.get', { id: 'steady' });
    expect(now.state).toBe('ready');
    expect(now.polls).toBeGreaterThan(before.polls); // the same actor's counter kept counting, not a fresh one
    expect(now.polls - now.pollErrors).toBeGreaterThanOrEqual(seqs.at(-1)! - 1);

    const other = await daemon.call('instrument.get', { id: 'other' });
    expect(other.params).toMatchObject({ wavelength_nm: 1000, attenuator: true });
    expect(other.pollIntervalMs).toBe(40);
    expect(stateEvents(mark, 'other')).toEqual([]); // live: no reconnect
    expect((await daemon.call('instrument.list')).instruments.map((i: { id: string }) => i.id).sort()).toEqual(['fresh', 'mover', 'other', 'steady', 'tuned']);
  });

  it('a parameter change in the file reaches the device live, without a reconnect', async () => {
    const device = sims[0]!;
    expect(device.state.wavelengthNm).toBe(800);
    const applied = await reloadTo({ ...layout, tunedWavelength: 633 });
    expect(applied.diff.instruments.changed.tuned).toMatchObject({ reconnect: false, params: { wavelength_nm: { from: 800, to: 633 } } });
    expect(device.state.wavelengthNm).toBe(633);
    expect(device.received.some((l) => /^W0*633$/.test(l))).toBe(true);
    expect(stateEvents(mark)).toEqual([]);
    const tuned = await daemon.call('instrument.get', { id: 'tuned' });
    expect(tuned.params.wavelength_nm).toBe(633);
    expect(tuned.state).toBe('ready');
  });

  it('changing one instrument\'s port reconnects only that one: sim -> pty, then pty -> another pty', async () => {
    const first = await servedMeter();
    const steadySeqs = seqsOf(rec, 'steady').length;
    let applied = await reloadTo({ ...layout, moverPort: first.pair.a });
    expect(applied.diff.instruments.changed.mover).toMatchObject({ reconnect: true });
    expect(Object.keys(applied.diff.instruments.changed)).toEqual(['mover']);
    await waitUntil(() => first.sim.received.filter((l) => l === 'D?').length >= 3, 5000, 'mover to poll the meter on the pty');
    expect(stateEvents(mark).map((e) => e.params.instrument).every((id) => id === 'mover')).toBe(true);
    expect(stateEvents(mark, 'mover').map((e) => e.params.state)).toEqual(['connecting', 'ready']);
    expect((await daemon.call('instrument.get', { id: 'mover' })).port).toBe(first.pair.a);

    mark = rec.events.length;
    const second = await servedMeter();
    applied = await reloadTo({ ...layout, moverPort: second.pair.a });
    await waitUntil(() => second.sim.received.filter((l) => l === 'D?').length >= 3, 5000, 'mover to poll the meter on the second pty');
    const polledOnFirst = first.sim.received.length;
    await waitUntil(() => second.sim.received.filter((l) => l === 'D?').length >= 6, 5000, 'more polls on the second pty');
    expect(first.sim.received.length).toBe(polledOnFirst); // the old port is no longer used
    expect(stateEvents(mark).map((e) => `${e.params.instrument}:${e.params.state}`)).toEqual(['mover:connecting', 'mover:ready']);
    const ports = JSON.stringify((await daemon.call('daemon.status')).ports);
    expect(ports).toContain(realpathSync(second.pair.a));
    expect(ports).not.toContain(realpathSync(first.pair.a));

    // Across both reconnects of mover, steady and tuned never missed a poll.
    expect(seqBreaks(seqsOf(rec, 'steady'))).toEqual([]);
    expect(seqsOf(rec, 'steady').length).toBeGreaterThan(steadySeqs);
    expect(seqBreaks(seqsOf(rec, 'tuned'))).toEqual([]);
  });
});
