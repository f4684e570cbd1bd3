/**
 * daqctl watch against a real daqd on the shipped optics bench, in a real terminal (a tmux pane,
 * 80x24) and through pipes:
 * - the table fits 80 columns (no row wraps), shows module state beside the readings, and redraws
 *   in place: tmux's scrollback does not grow while it runs;
 * - Ctrl-C exits within 200 ms with exit 0, SIGTERM exits too, daqd going away exits 1, and every
 *   one of them leaves the terminal as it was (cursor shown, the same stty settings);
 * - `watch nope` fails at once; --events, an instrument, --module and --type filter what is printed;
 * - a long set (a stage move) shows a spinner on the terminal and Ctrl-C aborts the move.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAQCTL_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl, sh, STACK_LINE, Tmux, waitForFile } from '../cli/helpers.js';

const SHIPPED = readFileSync(join(import.meta.dirname, '../../config/default.toml'), 'utf8');
const NODE = process.execPath;

/**
 * The pane's command: record stty, fill the screen (so the table starts at the bottom and any
 * scrolling would show in the history), run `command`, write "<exit code> <ms since epoch>" to
 * `exitFile`, record stty again, and keep the pane alive (a dead pane has no cursor to check).
 * The shell traps SIGINT so that Ctrl-C reaches daqctl alone (its own exit is what is tested).
 */
function shellAround(command: string, exitFile: string, fill: boolean): string {
  const script = `trap true INT; stty -a > ${exitFile}.stty-before; ${fill ? 'seq 1 60; ' : ''}${command}; echo "$? $(date +%s%3N)" > ${exitFile}; stty -a > ${exitFile}.stty-after; exec cat`;
  return `sh -c ${sh(script)}`;
}

/** Waits until the pane's shell recorded stty after daqctl ended; returns [before, after]. */
async function sttyAround(exitFile: string): Promise<[string, string]> {
  const after = await waitForFile(`${exitFile}.stty-after`, 5000, 'stty after daqctl');
  return [readFileSync(`${exitFile}.stty-before`, 'utf8'), after];
}

/** The pid of the command a pane's shell runs (the pane's only child). */
/**
 * The pane's child process (daqctl). Never 0 or empty: process.kill(0, ...) signals the whole
 * process group, i.e. the test runner and every daqd other tests started.
 */
async function childOf(pid: string, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const child = childNow(pid);
    if (child !== undefined) return child;
    if (Date.now() > deadline) throw new Error(`the tmux pane (pid ${pid}) has no child process to signal`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function childNow(pid: string): number | undefined {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', pid], { encoding: 'utf8' });
  } catch {
    out = ''; // ps exits 1 when there is no such process
  }
  const child = Number(out.trim().split('\n')[0]);
  return Number.isInteger(child) && child > 1 ? child : undefined;
}

describe('daqctl watch', () => {
  let daqd: DaemonHandle;

  beforeAll(async () => {
    daqd = await startDaemon({ config: SHIPPED });
    await waitUntil(async () => (await daqd.call('instrument.list')).instruments.every((i: any) => i.state === 'ready' && i.lastReading), 20_000, 'the bench to be ready');
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  const paneCommand = (args: string, exitFile: string) => shellAround(`${NODE} ${DAQCTL_BIN} --socket ${daqd.socketPath} ${args}`, exitFile, true);

  const TABLE_READY = (s: string) => /^INSTRUMENT\s+STATE\s+TIME\s+LAST READING$/m.test(s) && /^MODULE\s+TYPE\s+STATE\s+STATUS$/m.test(s) && s.includes('q or Ctrl-C to stop');

  it('on a terminal: fits 80 columns, redraws in place, Ctrl-C exits within 200 ms and restores the terminal', async () => {
    const exitFile = join(daqd.dir, 'ctrl-c');
    const t = Tmux.start('ctrlc', paneCommand('watch', exitFile));
    try {
      const first = await t.waitForScreen(TABLE_READY, 20_000, 'the watch table');
      expect(first).toMatch(/^pm_sample\s+ready\s+\d\d:\d\d:\d\d\s+power=\d+\.\d+ [µm]W$/m);
      expect(first).toMatch(/^sample_guard\s+interlock\s+running\s+ok /m);
      expect(first).toMatch(/^chiller_watch\s+monitor\s+running\s+ok \d+\.\d+ degC/m);
      const history = Number(t.format('history_size'));
      expect(t.format('cursor_flag')).toBe('0'); // hidden while drawing

      // Readings arrive every 500 ms: wait for three redraws that changed the screen.
      const screens = new Set([first]);
      await waitUntil(() => screens.add(t.capture().join('\n')).size >= 4, 15_000, 'three redraws');
      expect(Number(t.format('history_size')), 'scrollback grew while watching').toBe(history);

      // A wrapped row is joined back by capture-pane -J: it would be longer than 80 and the capture shorter.
      const rows = t.capture();
      const joined = t.capture(true);
      expect(joined.length, 'a row wrapped at 80 columns').toBe(rows.length);
      expect(Math.max(...joined.map((r) => r.trimEnd().length)), 'a row wrapped at 80 columns').toBeLessThanOrEqual(80);

      const pressed = Date.now();
      t.keys('C-c');
      const [code, at] = (await waitForFile(exitFile, 5000, 'watch to exit')).trim().split(' ');
      expect(code).toBe('0');
      expect(Number(at) - pressed, 'Ctrl-C to exit').toBeLessThan(200);
      const [sttyBefore, sttyAfter] = await sttyAround(exitFile);
      expect(sttyAfter).toBe(sttyBefore);
      expect(t.format('cursor_flag')).toBe('1');
      // The last table stays on screen.
      expect(t.capture().join('\n')).toMatch(/^pm_sample\s+ready/m);
    } finally {
      t.kill();
    }
  });

  it('on a terminal: SIGTERM exits 0 and restores the cursor', async () => {
    const exitFile = join(daqd.dir, 'sigterm');
    const t = Tmux.start('sigterm', paneCommand('watch pm_sample', exitFile));
    try {
      const screen = await t.waitForScreen((s) => /^INSTRUMENT\s+STATE/m.test(s) && s.includes('q or Ctrl-C to stop'), 20_000, 'the watch table');
      // Only pm_sample, and the modules that use it.
      expect(screen).not.toMatch(/^chiller\s/m);
      expect(screen).toMatch(/^sample_guard\s/m);
      expect(screen).not.toMatch(/^chiller_watch\s/m);
      process.kill(await childOf(t.format('pane_pid')), 'SIGTERM');
      expect((await waitForFile(exitFile, 5000, 'watch to exit')).split(' ')[0]).toBe('0');
      const [sttyBefore, sttyAfter] = await sttyAround(exitFile);
      expect(sttyAfter).toBe(sttyBefore);
      expect(t.format('cursor_flag')).toBe('1');
    } finally {
      t.kill();
    }
  });

  it('on a terminal: a set that moves the stage shows a spinner; Ctrl-C aborts the move (exit 1, "aborted")', async () => {
    const exitFile = join(daqd.dir, 'set-abort');
    const before = (await daqd.call('instrument.get', { id: 'stage' })).device.axis2_position as number;
    const t = Tmux.start('setabort', paneCommand(`set stage axis2_position=${before + 40} --no-persist`, exitFile));
    try {
      await t.waitForScreen((s) => /stage: setting axis2_position=[\d.]+.*\(Ctrl-C to abort\)/.test(s), 20_000, 'the spinner');
      await waitUntil(async () => (await daqd.call('instrument.get', { id: 'stage' })).lastReading.values.axis2_moving === true, 10_000, 'the stage to move');
      t.keys('C-c');
      expect((await waitForFile(exitFile, 10_000, 'set to exit')).split(' ')[0]).toBe('1');
      const screen = t.capture().join('\n');
      expect(screen).toMatch(/daqctl: aborted: stage: stopped the operation in flight/);
      expect(screen).not.toContain('(Ctrl-C to abort)'); // the spinner line was cleared
      const stage = await daqd.call('instrument.get', { id: 'stage' });
      await waitUntil(async () => (await daqd.call('instrument.get', { id: 'stage' })).lastReading.values.axis2_moving === false, 10_000, 'the stage to stop');
      expect(stage.device.axis2_position).toBeLessThan(before + 40);
    } finally {
      t.kill();
    }
  });

  it('watch nope: exit 1 at once, naming the instruments there are', async () => {
    const [instrument, module] = await Promise.all([
      daqctl(['--socket', daqd.socketPath, 'watch', 'nope']),
      daqctl(['--socket', daqd.socketPath, 'watch', '--module', 'nope']),
    ]);
    expect(instrument.code).toBe(1);
    expect(instrument.stderr).toMatch(/^daqctl: no instrument "nope" \(instruments: pm_sample, pm_ref, .*\) \[not_found\]$/m);
    expect(instrument.stdout).toBe('');
    expect(module.code).toBe(1);
    expect(module.stderr).toContain('no module "nope" (modules: sample_guard');
    expect(instrument.stderr).not.toMatch(STACK_LINE);
  });

  /** Runs watch off a terminal until `enough` JSON lines arrived, then SIGINT; returns the events. */
  async function events(args: string[], enough: (events: any[]) => boolean): Promise<any[]> {
    const child = spawn(NODE, [DAQCTL_BIN, '--socket', daqd.socketPath, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const parsed = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    try {
      await waitUntil(() => enough(parsed()), 15_000, `events from daqctl watch ${args.join(' ')}`);
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}; stdout: ${out}; stderr: ${err}`);
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(err).toBe('');
    return parsed();
  }

  it('--events laser: the laser and the interlock acting on it, no unrelated module readings', async () => {
    // transmission (pm_sample / pm_ref) publishes a reading at every poll of either meter.
    const got = await events(['--events', 'laser'], (e) => e.filter((x) => x.event === 'reading').length >= 3);
    expect(got.filter((e) => e.event === 'reading').every((e) => e.instrument === 'laser')).toBe(true);
    expect(got.some((e) => e.module === 'transmission')).toBe(false);
    expect(got.some((e) => e.event === 'daemon.heartbeat')).toBe(false);
  });

  it('--type module.reading and --module: only those events', async () => {
    const byType = await events(['--type', 'module.reading'], (e) => e.length >= 3);
    expect(byType.every((e) => e.event === 'module.reading' && e.module === 'transmission')).toBe(true);
    const byModule = await events(['--module', 'transmission', '--type', 'module.,reading'], (e) => e.length >= 3);
    expect(byModule.every((e) => e.module === 'transmission')).toBe(true);
  });
});

describe('daqctl watch when daqd goes away', () => {
  it('exits 1 with the reason and restores the terminal', async () => {
    const daqd = await startDaemon({ config: '[instruments.pm1]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n' });
    const exitFile = join(daqd.dir, 'gone');
    const t = Tmux.start('gone', shellAround(`${NODE} ${DAQCTL_BIN} --socket ${daqd.socketPath} watch`, exitFile, false));
    try {
      await t.waitForScreen((s) => /^pm1\s+ready\s+\d\d:/m.test(s), 20_000, 'the watch table');
      expect(await daqd.stop()).toBe(0);
      expect((await waitForFile(exitFile, 5000, 'watch to exit')).split(' ')[0]).toBe('1');
      const [sttyBefore, sttyAfter] = await sttyAround(exitFile);
      expect(sttyAfter).toBe(sttyBefore);
      expect(t.capture().join('\n')).toContain('daqctl: daqd closed the connection');
      expect(t.format('cursor_flag')).toBe('1');
    } finally {
      t.kill();
      await daqd.dispose();
    }
  });
});
