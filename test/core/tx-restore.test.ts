/**
 * A transaction's restore goes on past what fails (checkpoint.ts): when the wait for one
 * instrument's connection throws, the other instruments' values are still set back and the failure
 * is reported, naming the instrument, in `failures` / the "NOT restored" text (a failed commit's
 * error, a tx.rollback's answer, a deadline revert's tx.state message). And tx.apply "resume" on a
 * transaction with no pending commit answers not_found like "confirm" and "revert".
 *
 * Direct tests of restoreDevices with small fakes, then the same failure through an in-process
 * Daemon on simulated instruments (its waitForConnection made to throw for one instrument).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigDiff } from '../../src/core/apply/diff.js';
import { Daemon } from '../../src/core/daemon.js';
import type { DaemonEvent } from '../../src/core/events.js';
import { restoreDevices, restoredText, type RestoreDeps } from '../../src/core/tx/checkpoint.js';
import type { ParamValue } from '../../src/drivers/types.js';
import { DaqError } from '../../src/errors.js';

const WAIT_ERROR = 'connection watcher crashed';

function reverseDiff(added: string[], reconnected: string[]): ConfigDiff {
  return {
    instruments: { added, removed: [], changed: Object.fromEntries(reconnected.map((id) => [id, { reconnect: true, params: {}, forgotten: [], other: [] }])) },
    modules: { added: [], removed: [], changed: {} },
    application: [],
  };
}

function fakes(opts: { ready: (id: string) => boolean; waitRejects: Set<string> }) {
  const sets: Array<{ id: string; values: Record<string, ParamValue> }> = [];
  const waited: string[] = [];
  const errors: string[] = [];
  const deps = {
    instruments: {
      isReady: (id: string) => opts.ready(id),
      setParams: async (id: string, values: Record<string, ParamValue>) => {
        sets.push({ id, values });
        return { ...values };
      },
    },
    modules: {},
    log: { error: (_o: unknown, msg: string) => errors.push(msg), warn: () => {}, info: () => {} },
    daemon: {
      waitForConnection: async (id: string) => {
        waited.push(id);
        if (opts.waitRejects.has(id)) throw new Error(WAIT_ERROR);
        return { state: 'ready' };
      },
    },
  } as unknown as RestoreDeps;
  return { deps, sets, waited, errors };
}

describe('restoreDevices when a wait for a connection throws', () => {
  it('sets the other instruments back and reports the failed one, by name, with the error', async () => {
    const { deps, sets, waited, errors } = fakes({ ready: (id) => id !== 'a', waitRejects: new Set(['a']) });
    const values = { a: { wavelength_nm: 800 }, b: { wavelength_nm: 633 }, c: { position: 1.5 } };
    const r = await restoreDevices(deps, reverseDiff(['a'], ['b']), values, 1000, true);
    expect(waited.sort()).toEqual(['a', 'b']);
    expect(sets).toEqual([
      { id: 'b', values: { wavelength_nm: 633 } },
      { id: 'c', values: { position: 1.5 } },
    ]);
    expect(r.devices).toEqual({ b: { wavelength_nm: 633 }, c: { position: 1.5 } });
    // One entry for a: not ready, why, and what was not set back.
    expect(r.failures).toEqual([`a is not ready (waiting for it to connect failed: ${WAIT_ERROR}): wavelength_nm not set back`]);
    expect(errors.join('\n')).toContain(WAIT_ERROR);
    const text = restoredText({ instruments: { stopped: [], restarted: [], reconnected: ['b'] }, devices: r.devices, modules: [], failures: r.failures });
    expect(text).toContain(`NOT restored: a is not ready (waiting for it to connect failed: ${WAIT_ERROR})`);
  });

  it('still reports a failed wait for an instrument that was ready after all or had nothing to set back', async () => {
    const { deps, sets } = fakes({ ready: () => true, waitRejects: new Set(['a', 'b']) });
    const r = await restoreDevices(deps, reverseDiff(['b'], ['a']), { a: { wavelength_nm: 800 }, c: { wavelength_nm: 700 } }, 1000, true);
    expect(sets.map((s) => s.id)).toEqual(['a', 'c']);
    expect(r.devices).toEqual({ a: { wavelength_nm: 800 }, c: { wavelength_nm: 700 } });
    expect(r.failures.sort()).toEqual([
      `a: waiting for it to connect failed (${WAIT_ERROR}); check that it is connected and holds its values`,
      `b: waiting for it to connect failed (${WAIT_ERROR}); check that it is connected and holds its values`,
    ]);
  });
});

// ---- the same through an in-process Daemon ----

const BASE = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm_old]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm_old.params]
wavelength_nm = 800

[instruments.pm_ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.pm_ref.params]
wavelength_nm = 800
`;

interface Running {
  daemon: Daemon;
  dir: string;
  clock: { now: number };
  events: DaemonEvent[];
}

const opened: Running[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const r of opened.splice(0)) {
    await r.daemon.stop().catch(() => {});
    rmSync(r.dir, { recursive: true, force: true });
  }
});

async function start(): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-tx-restore-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(configPath, BASE);
  const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false, clock: () => clock.now });
  const events: DaemonEvent[] = [];
  daemon.events.subscribe((e) => events.push(e));
  const r = { daemon, dir, clock, events };
  opened.push(r);
  for (const id of ['pm_old', 'pm_ref']) expect((await daemon.waitForConnection(id, 5000)).state, `${id} ready`).toBe('ready');
  return r;
}

/** From now on, daemon.waitForConnection throws for `id` (a bug or a crash in the connection watch). */
function breakWaitFor(daemon: Daemon, id: string) {
  const original = daemon.waitForConnection.bind(daemon);
  return vi.spyOn(daemon, 'waitForConnection').mockImplementation((which, timeoutMs) => (which === id ? Promise.reject(new Error(WAIT_ERROR)) : original(which, timeoutMs)));
}

/** A transaction that sets pm_ref and reconnects pm_old (its port changes). */
async function stageBoth(daemon: Daemon): Promise<string> {
  const { id } = await daemon.tx.begin('t');
  await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1000 } });
  await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_old', params: { port: 'sim:bus2' } });
  return id;
}

async function refusal(p: Promise<unknown>): Promise<DaqError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'should have been refused').toBeInstanceOf(DaqError);
  return err as DaqError;
}

const aboutPmOld = (f: string) => f.includes('pm_old') && f.includes(WAIT_ERROR);

describe('a transaction whose restore cannot wait for one instrument', () => {
  it('a failed commit: pm_ref is still set back, pm_old\'s failure is in the error and data.restored; the transaction is failed', async () => {
    const { daemon } = await start();
    const id = await stageBoth(daemon);
    breakWaitFor(daemon, 'pm_old'); // the commit's own wait for pm_old fails first, then the restore's
    const err = await refusal(daemon.tx.commit(id, { timeout_s: 5 }, 't'));
    const restored = err.details?.restored as { devices: Record<string, Record<string, ParamValue>>; failures: string[] } | undefined;
    expect(restored, err.message).toBeDefined();
    expect(restored!.devices.pm_ref).toEqual({ wavelength_nm: 800 });
    expect(restored!.failures.some(aboutPmOld), JSON.stringify(restored!.failures)).toBe(true);
    expect(err.message).toMatch(/step "wait for pm_old to be ready"/);
    expect(err.message).toMatch(new RegExp(`NOT restored: .*pm_old.*${WAIT_ERROR}`));
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(800);
    expect(daemon.config.instruments!.pm_old!.port).toBe('sim');
    // Failed, not silently back to open.
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 801 } }))).kind).toBe('expired');
  });

  it('tx.rollback of a pending commit: pm_ref is set back, the answer names pm_old and why', async () => {
    const { daemon } = await start();
    const id = await stageBoth(daemon);
    await daemon.tx.commit(id, { timeout_s: 5, confirm_within_s: 30 }, 't');
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(1000);
    breakWaitFor(daemon, 'pm_old');
    const r = (await daemon.tx.rollback(id)) as unknown as { reverted: boolean; restored: { devices: Record<string, Record<string, ParamValue>>; failures: string[] } };
    expect(r.reverted).toBe(true);
    expect(r.restored.devices.pm_ref).toEqual({ wavelength_nm: 800 });
    expect(r.restored.failures.some(aboutPmOld), JSON.stringify(r.restored.failures)).toBe(true);
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(800);
    expect(daemon.config.instruments!.pm_old!.port).toBe('sim');
    expect(daemon.tx.list().pendingConfirm).toBeNull();
  });

  it('a revert on the confirm deadline: pm_ref is set back and the tx.state message says what was not restored', async () => {
    const { daemon, clock, events } = await start();
    const id = await stageBoth(daemon);
    await daemon.tx.commit(id, { timeout_s: 5, confirm_within_s: 10, on_timeout: 'revert' }, 't');
    breakWaitFor(daemon, 'pm_old');
    clock.now += 11_000;
    await daemon.tx.checkDeadlines();
    expect(daemon.tx.list().pendingConfirm).toBeNull();
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(800);
    const reverted = events.find((e) => e.type === 'tx.state' && e.tx === id && e.state === 'reverted') as { message?: string } | undefined;
    expect(reverted, 'a tx.state "reverted" event').toBeDefined();
    expect(reverted!.message).toMatch(new RegExp(`NOT restored: .*pm_old.*${WAIT_ERROR}`));
  });
});

describe('tx.apply on a transaction with no pending commit', () => {
  it('resume answers not_found, as confirm and revert do', async () => {
    const { daemon } = await start();
    const { id } = await daemon.tx.begin('t');
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 900 } });
    for (const mode of ['confirm', 'revert', 'resume'] as const) {
      const err = await refusal(daemon.submit({ type: 'tx.apply', txId: id, mode }, 'test'));
      expect(err.kind, mode).toBe('not_found');
      expect(err.message, mode).toBe(`transaction ${id} is not waiting for a confirmation`);
    }
    // Nothing changed: still open, still staged.
    expect((await daemon.tx.get(id)).state).toBe('open');
    expect(daemon.getInstrument('pm_ref').params.wavelength_nm).toBe(800);
  });
});
