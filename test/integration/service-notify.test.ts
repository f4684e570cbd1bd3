/**
 * The sd_notify protocol (issue #20) against a real listening datagram socket, as systemd holds it
 * (test/service/notify-listener.py): READY only once the socket answers with the config applied,
 * RELOADING=1 + MONOTONIC_USEC then READY=1 around every reload (config.reload {wait}, SIGHUP, a
 * file edit, a failed reload), WATCHDOG=1 cadence and a blocked event loop stopping it, STOPPING=1
 * on SIGTERM, nothing at all without NOTIFY_SOCKET, and a clear exit when nothing can be sent.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/daemon.js';
import { METER, monoUsec, NotifyListener, project, spawnDaqd, ROOT } from '../service/helpers.js';

const NO_PERSIST = `[application.dynamic_config]\nenable_persistence = false\nhot_reload_debounce_ms = 50\n`;

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function underSystemd(config: string, env: Record<string, string> = {}, args: string[] = [], probe = false) {
  const p = project(config);
  const listener = await NotifyListener.start(join(p.dir, 'notify.sock'), probe ? p.socketPath : undefined);
  const daqd = spawnDaqd(p, { NOTIFY_SOCKET: listener.path, ...env }, args);
  cleanup.push(() => p.dispose(), () => listener.close(), () => daqd.kill());
  return { p, listener, daqd };
}

const ready = (l: NotifyListener, after = 0) => l.waitFor((m, i) => i >= after && m.fields.READY === '1', 20_000, 'READY=1');

describe('READY=1', () => {
  it('is sent only once the socket answers, with the shipped config applied', async () => {
    const shipped = readFileSync(join(ROOT, 'config/default.toml'), 'utf8');
    const { listener, daqd } = await underSystemd(NO_PERSIST + shipped.replace(/^\[application\.dynamic_config\][^[]*/m, ''), {}, [], true);
    const msg = await ready(listener);
    // The listener asked daqd's socket for daemon.status the moment READY=1 arrived.
    expect(msg.probe.error).toBeUndefined();
    expect(msg.probe.result.pid).toBe(daqd.proc.pid);
    const expected = (shipped.match(/^\[instruments\.[A-Za-z0-9_-]+\]$/gm) ?? []).length;
    expect(expected).toBeGreaterThan(3);
    expect(msg.probe.result.instruments.total).toBe(expected);
    expect(msg.fields.STATUS).toMatch(/instruments? /);
    // Nothing else (no RELOADING, no STOPPING) came before it.
    expect(listener.messages[0]).toBe(msg);
  });

  it('STATUS= follows the instruments: one line with counts and trouble', async () => {
    const { listener } = await underSystemd(NO_PERSIST + METER('pm1') + METER('pm2'));
    await ready(listener);
    const line = await listener.waitFor((m) => m.fields.STATUS === '2 instruments ready', 15_000, 'STATUS=2 instruments ready');
    expect(line.fields.STATUS).not.toContain('\n');
  });
});

describe('RELOADING=1 + MONOTONIC_USEC, then READY=1, around every reload', () => {
  function reloadPair(l: NotifyListener, from: number) {
    const rel = l.messages.findIndex((m, i) => i >= from && m.fields.RELOADING === '1');
    const rdy = l.messages.findIndex((m, i) => i > rel && rel >= 0 && m.fields.READY === '1');
    return rel >= 0 && rdy >= 0 ? { reloading: l.messages[rel]!, ready: l.messages[rdy]! } : undefined;
  }

  it('config.reload {wait: true} answers only after systemd has read READY=1', async () => {
    const { p, listener, daqd } = await underSystemd(NO_PERSIST + METER('pm1'));
    await ready(listener);
    const from = listener.messages.length;
    writeFileSync(p.configPath, NO_PERSIST + METER('pm1') + METER('pm2'));
    const before = monoUsec();
    const result = await daqd.call('config.reload', { wait: true });
    const answered = monoUsec();
    expect(result.outcome).toBe('applied');
    const pair = await waitUntil(() => reloadPair(listener, from), 5000, 'RELOADING then READY');
    const mono = Number(pair.reloading.fields.MONOTONIC_USEC);
    // MONOTONIC_USEC is CLOCK_MONOTONIC when the reload started: between the request and its answer.
    expect(mono).toBeGreaterThanOrEqual(before);
    expect(mono).toBeLessThanOrEqual(answered);
    // READY=1 had been received before the answer left daqd.
    expect(pair.ready.t).toBeLessThanOrEqual(answered);
  });

  it('a failed reload: the error is the answer, and READY=1 (old config kept) still follows RELOADING=1', async () => {
    const { p, listener, daqd } = await underSystemd(NO_PERSIST + METER('pm1'));
    await ready(listener);
    const from = listener.messages.length;
    writeFileSync(p.configPath, NO_PERSIST + METER('pm1') + '\n[instruments.pm2]\ndriver = "no_such_driver"\nport = "sim"\n');
    await expect(daqd.call('config.reload', { wait: true })).rejects.toThrow();
    const answered = monoUsec();
    const pair = await waitUntil(() => reloadPair(listener, from), 5000, 'RELOADING then READY');
    expect(pair.ready.t).toBeLessThanOrEqual(answered);
    expect(pair.ready.fields.STATUS).toMatch(/reload failed/);
  });

  it('SIGHUP and a file edit (the watcher) each send the pair too', async () => {
    const { p, listener, daqd } = await underSystemd(NO_PERSIST + METER('pm1'));
    await ready(listener);
    let from = listener.messages.length;
    daqd.proc.kill('SIGHUP');
    await waitUntil(() => reloadPair(listener, from), 10_000, 'RELOADING then READY after SIGHUP');
    from = listener.messages.length;
    writeFileSync(p.configPath, NO_PERSIST + METER('pm1', 300));
    const pair = await waitUntil(() => reloadPair(listener, from), 10_000, 'RELOADING then READY after an edit');
    expect(Number(pair.reloading.fields.MONOTONIC_USEC)).toBeGreaterThan(0);
    expect(daqd.proc.exitCode).toBeNull();
  });
});

describe('WATCHDOG=1', () => {
  const gaps = (ms: number[]) => ms.slice(1).map((t, i) => t - ms[i]!);

  it('is sent every half of WATCHDOG_USEC', async () => {
    const { listener } = await underSystemd(NO_PERSIST + METER('pm1'), { WATCHDOG_USEC: '300000' });
    await ready(listener);
    await waitUntil(() => listener.with('WATCHDOG').length >= 10, 15_000, '10 watchdog pings');
    const times = listener.with('WATCHDOG').map((m) => m.t / 1000);
    const g = gaps(times).sort((a, b) => a - b);
    const median = g[Math.floor(g.length / 2)]!;
    expect(median).toBeGreaterThan(100);
    expect(median).toBeLessThan(220);
  });

  it('stops while the event loop is blocked, and resumes after', async () => {
    const { listener, daqd } = await underSystemd(NO_PERSIST + METER('pm1'), { WATCHDOG_USEC: '200000', DAQD_DEBUG_BLOCK_LOOP_MS: '1500' });
    await ready(listener);
    await waitUntil(() => listener.with('WATCHDOG').length >= 5, 15_000, '5 watchdog pings');
    const before = listener.with('WATCHDOG').length;
    daqd.proc.kill('SIGUSR2');
    await waitUntil(() => listener.with('WATCHDOG').length >= before + 5, 15_000, 'pings after the block');
    const times = listener.with('WATCHDOG').map((m) => m.t / 1000);
    const longest = Math.max(...gaps(times));
    // 1.5 s without a ping: systemd (WatchdogSec=0.2 s here) would have killed it.
    expect(longest).toBeGreaterThan(1400);
    // And only one such gap: the pinger itself keeps its cadence otherwise.
    expect(gaps(times).filter((g) => g > 500)).toHaveLength(1);
  });

  it('a watchdog with a helper that is missing: exits 78 at once with the reason, before any port', async () => {
    const p = project(NO_PERSIST + METER('pm1'));
    cleanup.push(() => p.dispose());
    const daqd = spawnDaqd(p, { NOTIFY_SOCKET: join(p.dir, 'n.sock'), WATCHDOG_USEC: '1000000', DAQD_SYSTEMD_NOTIFY: '/nonexistent/systemd-notify' });
    cleanup.push(() => daqd.kill());
    expect(await daqd.exited).toBe(78);
    expect(daqd.output()).toMatch(/\/nonexistent\/systemd-notify is missing/);
    expect(existsSync(p.socketPath)).toBe(false);
  });

  it('READY=1 cannot be delivered while a watchdog is configured: exits 78 with the reason', async () => {
    const p = project(NO_PERSIST + METER('pm1'));
    cleanup.push(() => p.dispose());
    const daqd = spawnDaqd(p, { NOTIFY_SOCKET: join(p.dir, 'nobody-listens.sock'), WATCHDOG_USEC: '1000000' });
    cleanup.push(() => daqd.kill());
    expect(await daqd.exited).toBe(78);
    expect(daqd.output()).toMatch(/cannot tell systemd that daqd is ready/);
  });
});

describe('STOPPING=1 and no systemd', () => {
  it('SIGTERM: STOPPING=1, then a clean exit 0', async () => {
    const { listener, daqd } = await underSystemd(NO_PERSIST + METER('pm1'));
    await ready(listener);
    daqd.proc.kill('SIGTERM');
    expect(await daqd.exited).toBe(0);
    const stopping = listener.with('STOPPING');
    expect(stopping).toHaveLength(1);
    expect(listener.messages.indexOf(stopping[0]!)).toBeGreaterThan(listener.messages.findIndex((m) => m.fields.READY === '1'));
  });

  it('without NOTIFY_SOCKET nothing is sent (the helper never runs)', async () => {
    const p = project(NO_PERSIST + METER('pm1'));
    cleanup.push(() => p.dispose());
    const record = join(p.dir, 'helper-ran');
    const helper = join(p.dir, 'fake-notify');
    writeFileSync(helper, `#!/bin/sh\necho "$@" >> ${record}\n`);
    chmodSync(helper, 0o755);
    const daqd = spawnDaqd(p, { DAQD_SYSTEMD_NOTIFY: helper, WATCHDOG_USEC: '200000' });
    cleanup.push(() => daqd.kill());
    await waitUntil(async () => (await daqd.call('daemon.status').catch(() => undefined))?.pid === daqd.proc.pid, 15_000, 'daqd to answer');
    daqd.proc.kill('SIGHUP');
    await waitUntil(async () => (await daqd.call('config.reloadStatus')).source === 'signal', 10_000, 'the SIGHUP reload');
    daqd.proc.kill('SIGTERM');
    expect(await daqd.exited).toBe(0);
    expect(existsSync(record)).toBe(false);
  });
});
