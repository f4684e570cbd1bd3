/**
 * Transactions in an in-process Daemon on simulated instruments (issue #18), with a controlled
 * clock for expiry and confirm deadlines: revisions and ifRev, staging refusals with the direct
 * commands' kinds, validation (every problem, each with its op), commit (one write), disjoint and
 * overlapping transactions, commit confirmed (hold / revert), restart with open and pending
 * transactions, enable_transactions = false.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/core/daemon.js';
import type { DaemonEvent } from '../../src/core/events.js';
import { DaqError } from '../../src/errors.js';

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

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 50

[modules.watch]
type = "monitor"
reading = "power"
high = 0.5
roles = { source = "pm_old" }
`;

interface Running {
  daemon: Daemon;
  dir: string;
  configPath: string;
  clock: { now: number };
  events: DaemonEvent[];
}

const opened: Running[] = [];

async function start(config: string | undefined, reuse?: Running): Promise<Running> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'daqd-tx-'));
  const configPath = join(dir, 'default.toml');
  if (config !== undefined) writeFileSync(configPath, config);
  const clock = reuse?.clock ?? { now: Date.parse('2026-12-01T10:00:00Z') };
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }), simPacing: false, clock: () => clock.now });
  const events: DaemonEvent[] = [];
  daemon.events.subscribe((e) => events.push(e));
  const r = { daemon, dir, configPath, clock, events };
  opened.push(r);
  return r;
}

async function ready(d: Daemon, ids: string[]): Promise<void> {
  for (const id of ids) {
    const r = await d.waitForConnection(id, 5000);
    expect(r.state, `${id} ready`).toBe('ready');
  }
}

async function refusal(p: Promise<unknown>): Promise<DaqError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'should have been refused').toBeInstanceOf(DaqError);
  return err as DaqError;
}

afterEach(async () => {
  for (const r of opened.splice(0)) {
    await r.daemon.stop().catch(() => {});
    rmSync(r.dir, { recursive: true, force: true });
  }
});

describe('revisions and ifRev', () => {
  it('every change increments the revision once; reads return it and each item its own', async () => {
    const { daemon } = await start(BASE);
    await ready(daemon, ['pm_ref']);
    const r0 = daemon.revision;
    expect(r0).toBe(1); // the start-up load
    expect(daemon.status().revision).toBe(r0);
    const set = await daemon.submit({ type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 900 } }, 'test');
    expect(daemon.revision).toBe(r0 + 1);
    expect(set.revision).toBe(r0 + 1);
    expect(daemon.getInstrument('pm_ref').revision).toBe(r0 + 1);
    expect(daemon.getInstrument('pm_old').revision).toBe(1);
    // A set the config already holds (a command to the device) changes no revision.
    await daemon.submit({ type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 900 } }, 'test');
    expect(daemon.revision).toBe(r0 + 1);
    await daemon.submit({ type: 'module.set', id: 'watch', settings: { high: 0.6 } }, 'test');
    expect(daemon.revision).toBe(r0 + 2);
    expect(daemon.getModule('watch').revision).toBe(r0 + 2);
  });

  it('a stale ifRev is refused with conflict before anything changes; the current one passes', async () => {
    const { daemon, configPath } = await start(BASE);
    await ready(daemon, ['pm_ref']);
    const rev = daemon.revision;
    await daemon.submit({ type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 700 } }, 'test');
    const before = readFileSync(configPath, 'utf8');
    for (const cmd of [
      { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 650 }, ifRev: rev },
      { type: 'instrument.add', id: 'pm_new', config: { driver: 'newport_1830c', port: 'sim' }, ifRev: rev },
      { type: 'instrument.remove', id: 'pm_old', force: true, ifRev: rev },
      { type: 'module.set', id: 'watch', settings: { high: 0.7 }, ifRev: rev },
    ]) {
      const err = await refusal(daemon.submit(cmd, 'test'));
      expect(err.kind).toBe('conflict');
      expect(err.details).toMatchObject({ ifRev: rev, revision: rev + 1 });
    }
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    expect(daemon.revision).toBe(rev + 1);
    await daemon.submit({ type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 650 }, ifRev: rev + 1 }, 'test');
    expect(daemon.revision).toBe(rev + 2);
  });
});

describe('staging and validation', () => {
  it('a stage invalid on its own is refused with the direct command\'s kind; unknown tx is not_found', async () => {
    const { daemon } = await start(BASE);
    const { id } = await daemon.tx.begin('test');
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.add', id: 'x', config: { driver: 'nope', port: 'sim' } }))).kind).toBe('unknown_driver');
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 5 } }))).kind).toBe('out_of_range');
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: '800' } }))).kind).toBe('invalid_params');
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.add', id: 'pm_ref', config: { driver: 'newport_1830c', port: 'sim' } }))).kind).toBe('already_exists');
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.remove', id: 'pm_old' }))).kind).toBe('in_use');
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.set', id: 'ghost', params: { wavelength_nm: 800 } }))).kind).toBe('not_found');
    expect((await refusal(daemon.tx.stage('00000000-0000-4000-8000-000000000000', { type: 'module.remove', id: 'watch' }))).kind).toBe('not_found');
    // None of it staged; nothing visible outside.
    expect((await daemon.tx.get(id)).ops).toEqual([]);
  });

  it('staged changes build on each other and are invisible until commit; validate lists every problem with its op', async () => {
    const { daemon } = await start(BASE);
    const { id } = await daemon.tx.begin('test');
    await daemon.tx.stage(id, { type: 'instrument.add', id: 'pm_a', config: { driver: 'newport_1830c', port: 'sim:bus1' } });
    await daemon.tx.stage(id, { type: 'module.assign', id: 'watch', role: 'source', instrument: 'pm_a' }); // uses op 1
    expect(daemon.config.instruments!.pm_a).toBeUndefined();
    // Two instruments of a single-drop driver on one shared bus: a port clash (op 3).
    await daemon.tx.stage(id, { type: 'instrument.add', id: 'pm_b', config: { driver: 'newport_1830c', port: 'sim:bus1' } });
    // A module whose role names an instrument the transaction removes (op 4 adds it, op 5 removes the instrument with force).
    await daemon.tx.stage(id, { type: 'module.add', id: 'watch2', config: { type: 'monitor', reading: 'power', high: 1, roles: { source: 'pm_ref' } } });
    const v = await daemon.tx.validate(id);
    expect(v.ok).toBe(false);
    const clash = v.problems.find((p) => p.path === 'instruments.pm_b.port');
    expect(clash, JSON.stringify(v.problems)).toMatchObject({ op: 3, kind: 'validation_failed' });
    // Every problem, not just the first: a second one, from another op.
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_a', params: { port: 'sim:bus2' } });
    const v2 = await daemon.tx.validate(id);
    expect(v2.ok, JSON.stringify(v2.problems)).toBe(true);
    expect(v2.plan!.start.sort()).toEqual(['pm_a', 'pm_b']);
    expect(v2.plan!.modules).toEqual({ added: ['watch2'], removed: [], changed: ['watch'] });
    const got = await daemon.tx.get(id);
    expect(got.ops.map((o) => o.n)).toEqual([1, 2, 3, 4, 5]);
    expect(got.plan!.changes.some((c) => c.path === 'modules.watch.roles.source' && c.from === 'pm_old' && c.to === 'pm_a')).toBe(true);
  });

  it('a change made by someone else to an item the transaction touches is a conflict at validate and commit; the tx stays open', async () => {
    const { daemon, configPath } = await start(BASE);
    const { id } = await daemon.tx.begin('test');
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1000 } });
    await daemon.submit({ type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1010 } }, 'someone');
    const v = await daemon.tx.validate(id);
    expect(v.problems).toContainEqual(expect.objectContaining({ kind: 'conflict', path: 'instruments.pm_ref', op: 1 }));
    const before = readFileSync(configPath, 'utf8');
    const err = await refusal(daemon.tx.commit(id, {}, 'test'));
    expect(err.kind).toBe('conflict');
    expect(err.message).toContain('pm_ref');
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    expect((await daemon.tx.get(id)).state).toBe('open');
  });
});

describe('commit', () => {
  it('add + role move + remove + set in one commit: applied in order, file written once', async () => {
    const { daemon, configPath, events } = await start(BASE);
    await ready(daemon, ['pm_old', 'pm_ref', 'laser']);
    const { id } = await daemon.tx.begin('test');
    await daemon.tx.stage(id, { type: 'instrument.add', id: 'pm_new', config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 50, params: { wavelength_nm: 1064 } } });
    await daemon.tx.stage(id, { type: 'module.assign', id: 'watch', role: 'source', instrument: 'pm_new' });
    await daemon.tx.stage(id, { type: 'instrument.remove', id: 'pm_old' });
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 633 } });
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'laser', params: { shutter: true } }); // an action
    const rev = daemon.revision;
    const persistedBefore = events.filter((e) => e.type === 'config.persisted').length;
    const r = await daemon.tx.commit(id, { timeout_s: 5 }, 'test');
    expect(r).toMatchObject({ tx: id, committed: true, revision: rev + 1 });
    expect(daemon.revision).toBe(rev + 1);
    expect(events.filter((e) => e.type === 'config.persisted').length - persistedBefore).toBe(1);
    expect(daemon.getInstrument('pm_new').state).toBe('ready');
    expect(daemon.getInstrument('pm_new').device.wavelength_nm).toBe(1064);
    expect(() => daemon.getInstrument('pm_old')).toThrow();
    expect(daemon.getModule('watch').roles).toEqual({ source: 'pm_new' });
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(633);
    expect(daemon.getInstrument('laser').device.shutter).toBe(true);
    const file = readFileSync(configPath, 'utf8');
    expect(file).toContain('[instruments.pm_new]');
    expect(file).not.toMatch(/\[instruments\.pm_old\]/);
    expect(file).not.toMatch(/shutter/); // the action is never written
    expect((r.plan as { actions: unknown }).actions).toEqual({ laser: { shutter: true } });
    // Committed: staging into it answers expired; it is not listed.
    expect((await refusal(daemon.tx.stage(id, { type: 'module.remove', id: 'watch' }))).kind).toBe('expired');
    expect(daemon.tx.list().transactions).toEqual([]);
  });

  it('two transactions on disjoint instruments both commit, in either order; overlapping ones conflict', async () => {
    const { daemon } = await start(BASE);
    await ready(daemon, ['pm_old', 'pm_ref']);
    const a = (await daemon.tx.begin('a')).id;
    const b = (await daemon.tx.begin('b')).id;
    const c = (await daemon.tx.begin('c')).id;
    await daemon.tx.stage(a, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 900 } });
    await daemon.tx.stage(b, { type: 'instrument.set', id: 'pm_old', params: { wavelength_nm: 910 } });
    await daemon.tx.stage(c, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 920 } });
    await daemon.tx.commit(b, {}, 'b');
    await daemon.tx.commit(a, {}, 'a');
    expect(daemon.getInstrument('pm_ref').params.wavelength_nm).toBe(900);
    expect(daemon.getInstrument('pm_old').params.wavelength_nm).toBe(910);
    const err = await refusal(daemon.tx.commit(c, {}, 'c'));
    expect(err.kind).toBe('conflict');
    expect(err.details!.conflicts).toEqual([{ kind: 'instruments', id: 'pm_ref', staged: expect.any(Number), now: expect.any(Number) }]);
    expect(daemon.getInstrument('pm_ref').params.wavelength_nm).toBe(900);
  });

  it('commit with a stale ifRev is refused; the transaction stays open', async () => {
    const { daemon } = await start(BASE);
    const { id } = await daemon.tx.begin('t');
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 900 } });
    const rev = daemon.revision;
    await daemon.submit({ type: 'module.set', id: 'watch', settings: { high: 0.9 } }, 'other');
    expect((await refusal(daemon.tx.commit(id, { ifRev: rev }, 't'))).kind).toBe('conflict');
    await daemon.tx.commit(id, { ifRev: rev + 1 }, 't');
  });
});

describe('lifetime under a controlled clock', () => {
  it('an idle transaction expires after transaction_timeout_s; staging into it answers expired', async () => {
    const r = await start(BASE.replace('enable_hot_reload = false', 'enable_hot_reload = false\ntransaction_timeout_s = 60'));
    const { daemon, clock } = r;
    const { id } = await daemon.tx.begin('t');
    clock.now += 59_000;
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 900 } }); // touches it
    clock.now += 59_000;
    await daemon.tx.checkDeadlines();
    expect(daemon.tx.list().transactions.map((t) => t.id)).toEqual([id]);
    clock.now += 2_000;
    await daemon.tx.checkDeadlines();
    expect(daemon.tx.list().transactions).toEqual([]);
    expect((await refusal(daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 901 } }))).kind).toBe('expired');
    expect(readdirSync(join(r.dir, 'state', 'transactions'))).toEqual([]);
  });

  it('commit confirmed, hold: not in the file until confirmed; a missed deadline raises an alarm and keeps the hardware', async () => {
    const { daemon, configPath, clock, events } = await start(BASE);
    await ready(daemon, ['pm_ref']);
    const before = readFileSync(configPath, 'utf8');
    const { id } = await daemon.tx.begin('t');
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1000 } });
    const r = await daemon.tx.commit(id, { confirm_within_s: 30 }, 't');
    expect(r.pendingConfirm).toMatchObject({ onTimeout: 'hold' });
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(1000);
    // One pending confirmed commit at a time.
    const other = (await daemon.tx.begin('t2')).id;
    await daemon.tx.stage(other, { type: 'instrument.set', id: 'pm_old', params: { wavelength_nm: 990 } });
    expect((await refusal(daemon.tx.commit(other, { confirm_within_s: 30 }, 't2'))).kind).toBe('busy');
    clock.now += 31_000;
    await daemon.tx.checkDeadlines();
    expect(events.some((e) => e.type === 'tx.state' && e.alarm === true)).toBe(true);
    expect((daemon.status() as unknown as { transactions: { pendingConfirm: { alarm?: unknown } } }).transactions.pendingConfirm.alarm).toBeDefined();
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(1000);
    const confirmed = await daemon.tx.confirm(id);
    expect(confirmed).toMatchObject({ confirmed: true, persisted: { written: true } });
    expect(readFileSync(configPath, 'utf8')).toMatch(/\[instruments\.pm_ref\.params\]\n(#.*\n)?wavelength_nm = 1000\n/);
  });

  it('commit confirmed, revert: the deadline puts the devices and the config back; refused for a transaction with actions', async () => {
    const { daemon, configPath, clock } = await start(BASE);
    await ready(daemon, ['pm_ref', 'laser']);
    const before = readFileSync(configPath, 'utf8');
    const withAction = (await daemon.tx.begin('t')).id;
    await daemon.tx.stage(withAction, { type: 'instrument.set', id: 'laser', params: { shutter: true } });
    expect((await refusal(daemon.tx.commit(withAction, { confirm_within_s: 10, on_timeout: 'revert' }, 't'))).kind).toBe('invalid_params');
    await daemon.tx.rollback(withAction);

    const { id } = await daemon.tx.begin('t');
    await daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1000 } });
    await daemon.tx.stage(id, { type: 'instrument.add', id: 'pm_tmp', config: { driver: 'newport_1830c', port: 'sim' } });
    const rev = daemon.revision;
    await daemon.tx.commit(id, { confirm_within_s: 10, on_timeout: 'revert' }, 't');
    expect(daemon.getInstrument('pm_tmp')).toBeDefined();
    clock.now += 11_000;
    await daemon.tx.checkDeadlines();
    expect(() => daemon.getInstrument('pm_tmp')).toThrow();
    expect(daemon.getInstrument('pm_ref').device.wavelength_nm).toBe(800);
    expect(daemon.config.instruments!.pm_ref!.params!.wavelength_nm).toBe(800);
    expect(daemon.revision).toBe(rev + 2);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    expect(daemon.tx.list().pendingConfirm).toBeNull();
  });

  it('a revert the running config refuses (a module added since uses what it would remove) raises one alarm and leaves the decision to a person', async () => {
    const { daemon, clock, events } = await start(BASE);
    await ready(daemon, ['pm_ref']);
    const { id } = await daemon.tx.begin('t');
    await daemon.tx.stage(id, { type: 'instrument.add', id: 'pm_tmp', config: { driver: 'newport_1830c', port: 'sim' } });
    await daemon.tx.commit(id, { confirm_within_s: 10, on_timeout: 'revert' }, 't');
    await daemon.submit({ type: 'module.add', id: 'watch_tmp', config: { type: 'monitor', reading: 'power', high: 1, roles: { source: 'pm_tmp' } } }, 'socket');
    clock.now += 11_000;
    await daemon.tx.checkDeadlines();
    // Still running as it was, and said once: on the tx, in the status, as an alarm event.
    expect(daemon.getInstrument('pm_tmp')).toBeDefined();
    const alarms = () => events.filter((e) => e.type === 'tx.state' && e.tx === id && e.alarm === true) as { message?: string }[];
    expect(alarms()).toHaveLength(1);
    expect(alarms()[0]!.message).toMatch(/revert(ing it)? failed/);
    expect(alarms()[0]!.message).toContain('watch_tmp');
    expect(alarms()[0]!.message).toContain(`daqctl tx confirm ${id}`);
    const status = daemon.status() as unknown as { trouble: { alarms: { module: string }[] }; transactions: { pendingConfirm: { alarm?: unknown } } };
    expect(status.trouble.alarms.map((a) => a.module)).toContain(`tx:${id}`);
    expect(status.transactions.pendingConfirm.alarm).toBeDefined();
    // Later ticks do not retry it behind the person's back, nor say it again.
    clock.now += 5_000;
    await daemon.tx.checkDeadlines();
    await daemon.tx.checkDeadlines();
    expect(alarms()).toHaveLength(1);
    expect(daemon.tx.list().pendingConfirm).not.toBeNull();
    // The person removes the module; a discard now reverts.
    await daemon.submit({ type: 'module.remove', id: 'watch_tmp' }, 'socket');
    expect(await daemon.tx.rollback(id)).toMatchObject({ reverted: true });
    expect(() => daemon.getInstrument('pm_tmp')).toThrow();
    expect(daemon.tx.list().pendingConfirm).toBeNull();
  });

  it('open transactions and a pending confirmed commit survive a restart, deadline included', async () => {
    const first = await start(BASE);
    await ready(first.daemon, ['pm_ref']);
    const open = (await first.daemon.tx.begin('t')).id;
    await first.daemon.tx.stage(open, { type: 'instrument.set', id: 'pm_old', params: { wavelength_nm: 1001 } });
    const pending = (await first.daemon.tx.begin('t')).id;
    await first.daemon.tx.stage(pending, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1002 } });
    await first.daemon.tx.commit(pending, { confirm_within_s: 60 }, 't');
    await first.daemon.stop();
    opened.splice(opened.indexOf(first), 1);

    const second = await start(undefined, first);
    const list = second.daemon.tx.list();
    expect(list.transactions.map((t) => [t.id, t.state]).sort()).toEqual([[open, 'open'], [pending, 'pending_confirm']].sort());
    expect(second.daemon.config.instruments!.pm_ref!.params!.wavelength_nm).toBe(1002); // re-applied, not in the file
    expect(list.pendingConfirm!.deadline).toBe(new Date(first.clock.now + 60_000).toISOString());
    expect((await second.daemon.tx.get(open)).ops[0]!.command).toEqual({ type: 'instrument.set', id: 'pm_old', params: { wavelength_nm: 1001 } });
    await second.daemon.tx.commit(open, {}, 't');
    await second.daemon.tx.confirm(pending);
    const file = readFileSync(second.configPath, 'utf8');
    expect(file).toContain('wavelength_nm = 1001');
    expect(file).toContain('wavelength_nm = 1002');
    expect(readdirSync(join(second.dir, 'state', 'transactions'))).toEqual([]);
  });

  it('a pending revert whose deadline passed while daqd was stopped is reverted at start (daqd runs the file)', async () => {
    const first = await start(BASE);
    await ready(first.daemon, ['pm_ref']);
    const { id } = await first.daemon.tx.begin('t');
    await first.daemon.tx.stage(id, { type: 'instrument.set', id: 'pm_ref', params: { wavelength_nm: 1003 } });
    await first.daemon.tx.commit(id, { confirm_within_s: 5, on_timeout: 'revert' }, 't');
    await first.daemon.stop();
    opened.splice(opened.indexOf(first), 1);
    first.clock.now += 10_000;
    const second = await start(undefined, first);
    expect(second.daemon.tx.list().pendingConfirm).toBeNull();
    expect(second.daemon.config.instruments!.pm_ref!.params!.wavelength_nm).toBe(800);
    expect(existsSync(join(second.dir, 'state', 'transactions', `${id}.json`))).toBe(false);
  });

  it('enable_transactions = false refuses tx.* clearly', async () => {
    const { daemon } = await start(BASE.replace('enable_hot_reload = false', 'enable_hot_reload = false\nenable_transactions = false'));
    const err = await refusal(daemon.tx.begin('t'));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('enable_transactions = false');
    expect(() => daemon.tx.list()).toThrow(/enable_transactions/);
  });
});

describe('apply a file as one transaction (dry run)', () => {
  it('plans what would start, stop, reconnect, change and which actions happen; changes nothing', async () => {
    const { daemon, configPath } = await start(BASE);
    const before = readFileSync(configPath, 'utf8');
    const rev = daemon.revision;
    const fragment = `[instruments.pm_ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50
[instruments.pm_ref.params]
wavelength_nm = 1064

[instruments.pm_x]
driver = "newport_1830c"
port = "sim"
`;
    const plan = await daemon.tx.plan(fragment, false, false);
    expect(plan.ok, JSON.stringify(plan.problems)).toBe(true);
    expect(plan.plan!.start).toEqual(['pm_x']);
    expect(plan.plan!.set).toEqual({ pm_ref: { wavelength_nm: { from: 800, to: 1064 } } });
    const whole = await daemon.tx.plan(readFileSync(configPath, 'utf8').replace(/\[instruments\.laser\][^[]*/, ''), true, false);
    expect(whole.plan!.stop).toEqual(['laser']);
    expect(daemon.revision).toBe(rev);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    expect(daemon.tx.list().transactions).toEqual([]);
  });
});
