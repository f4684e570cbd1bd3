/**
 * Crash safety: a child process writes 200 changes through ConfigFile, printing an ack after each
 * write returns; it is SIGKILLed at random acks and restarted to continue. After every kill the
 * file must parse and hold exactly the last acked state or the one after it, and stray temp files
 * must be cleaned up by removeStrayTempFiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { removeStrayTempFiles } from '../../src/persistence/atomic-write.js';
import { MAX_REMOVED_NOTES } from '../../src/persistence/toml-notes.js';
import { CRASH_BASE, crashState, stateOf } from './crash-states.js';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const LAST = 200;
const dir = mkdtempSync(join(tmpdir(), 'daqd-crash-'));
const cfg = join(dir, 'crash.toml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  /** Resolves with the exit code or signal once the child has exited and been reaped. */
  exited: Promise<string>;
  lastAck: () => number | undefined;
  /** Resolves when ack `k` (or "done") arrives; rejects on exit first or after `ms`. */
  until: (k: number, ms: number) => Promise<void>;
}

function startWriter(): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, cfg, String(LAST)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let acked: number | undefined;
  let done = false;
  let buffer = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const ack = /^ack (\d+)$/.exec(line);
      if (ack) acked = Number(ack[1]);
      if (line === 'done') done = true;
      // A kill decided in a waiter must land before the next line is looked at.
      for (const w of waiters.splice(0)) w();
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(signal ?? `exit ${code}${stderr ? `: ${stderr}` : ''}`)));
  const until = (k: number, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack ${k} within ${ms} ms (last ack ${acked})`)), ms);
      const check = () => {
        if (done || (acked !== undefined && acked >= k)) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      void exited.then((how) => { clearTimeout(timer); if (!(done || (acked ?? -1) >= k)) reject(new Error(`writer ended (${how}) before ack ${k}`)); });
      check();
    });
  return { child, exited, lastAck: () => acked, until };
}

describe('crash safety of ConfigFile writes', () => {
  it('SIGKILL at random moments never leaves a torn or unexpected file', async () => {
    writeFileSync(cfg, CRASH_BASE);
    // Seeded kill points: acks after which the writer is killed (increasing, spread over the run).
    let seed = 20261123;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const killAt: number[] = [];
    for (let k = 5 + Math.floor(rand() * 20); k < LAST - 5 && killAt.length < 8; k += 8 + Math.floor(rand() * 24)) killAt.push(k);

    let confirmed = 0; // a state known to be on disk (acked, or found in the file after a kill)
    let kills = 0;
    let strayRemoved = 0;
    let landedAfter = 0; // kills after which the file already held the unacked next state
    for (const target of killAt) {
      if (target <= confirmed) continue;
      const run = startWriter();
      await run.until(target, 20_000);
      // Jitter, not synchronisation: a random 0-4 ms spin so kills land anywhere in the next write
      // (render, temp write, fsync, rename). The assertions below hold whatever the timing.
      const spinUntil = performance.now() + rand() * 4;
      while (performance.now() < spinUntil) { /* spin */ }
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe('SIGKILL');
      kills++;
      const acked = run.lastAck() ?? confirmed;

      const text = readFileSync(cfg, 'utf8');
      const model = parse(text);
      const state = stateOf(model);
      expect(state === acked || state === acked + 1, `file holds state ${state}, last ack was ${acked}`).toBe(true);
      expect(JSON.parse(JSON.stringify(model))).toEqual(crashState(state!));
      expect(text).toContain('name = "crash"  # kept across every write');
      expect(text).toContain('  # stays a float');

      strayRemoved += (await removeStrayTempFiles(cfg)).length;
      expect(readdirSync(dir).filter((n) => n.includes('daqd-tmp'))).toEqual([]);
      if (state === acked + 1) landedAfter++;
      confirmed = state!;
    }
    // Finish the run undisturbed: the last state is written.
    const run = startWriter();
    await run.until(LAST, 20_000);
    expect(await run.exited).toBe('exit 0');
    const final = readFileSync(cfg, 'utf8');
    expect(JSON.parse(JSON.stringify(parse(final)))).toEqual(crashState(LAST));
    // ~100 instruments were added and removed: the notes stay bounded (they once grew the file 16-fold).
    expect(final.match(/^# Removed: /gm)).toHaveLength(MAX_REMOVED_NOTES);
    expect(kills).toBeGreaterThanOrEqual(5);
    console.log(`crash test: ${kills} kills at acks ${killAt.join(', ')}; file one state ahead of the last ack after ${landedAfter}; ${strayRemoved} stray temp file(s) removed`);
  }, 60_000);
});
