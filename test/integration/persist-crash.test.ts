/**
 * Crash safety through the daemon: a client fires 200 instrument.set commands (each one written to
 * the file) at a real daqd child process, and the test kills it with SIGKILL at random moments
 * (before, during and after a write) and restarts it on the same directory. After every kill the
 * file must parse and be exactly the text after the last acknowledged change, or that text with the
 * in-flight change applied: never a mix, never empty. Each restart must remove stray temp files,
 * including one planted in the shape src/persistence/atomic-write.ts gives them
 * (`.<name>.daqd-tmp-<pid>-<n>`, here with the killed daemon's pid).
 *
 * The kill points come from a seeded generator: a failure prints the seed, and
 * PERSIST_CRASH_SEED=<seed> replays the same kill schedule.
 */
import { writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import type { DaqClient } from '../../src/client/client.js';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { readText, restartOn, tempFilesIn, TS_RE, waitInstrumentReady } from './persist-helpers.js';

const CONFIG = `# Crash test bench.
[application]
name = "persist-crash"

[application.dynamic_config]
enable_persistence = true
enable_hot_reload = true
hot_reload_debounce_ms = 50

# The meter whose wavelength the client keeps changing.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
baud_rate = 115200 # the simulator paces bytes at this rate: keeps 200 sets quick
poll_interval_ms = 200

[instruments.pm1.params]
wavelength_nm = 400   # changed by the crash test
filter = "fast"

# An instrument nobody touches: its text must never change.
[instruments.pm_ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 200 # untouched
`;

const TOTAL_WRITES = 200;
const KILLS = 6;

/** mulberry32: small, seedable, good enough to spread kill points. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const norm = (text: string) => text.replace(TS_RE, '<TS>');
const wavelengthIn = (text: string) => (parse(text) as any).instruments.pm1.params.wavelength_nm as number;

/** `text` (holding `was`) with pm1's wavelength changed to `value`, as daqd writes it. */
function withWavelength(text: string, was: number, value: number): string {
  const from = `# daqd: set <TS> (was `;
  const re = /# daqd: set <TS> \(was \d+\)\nwavelength_nm = \d+ /;
  const n = norm(text);
  if (!re.test(n)) throw new Error(`no daqd note above wavelength_nm in:\n${text}`);
  return n.replace(re, `${from}${was})\nwavelength_nm = ${value} `);
}

describe('SIGKILL during 200 persisted writes', () => {
  const seed = Number(process.env.PERSIST_CRASH_SEED ?? Date.now() % 1_000_000);
  const random = rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'daqd-crash-'));
  let d: DaemonHandle | undefined;

  afterAll(async () => {
    await d?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`the file is always the before or after state, and restarts clean temp files (seed ${seed})`, { timeout: 45_000 }, async () => {
    const configPath = join(dir, 'default.toml');
    let sent = 0;
    /** Value and full text of the file after the last acknowledged set. */
    let acked = 400;
    let ackedText = CONFIG;
    const outcomes = { before: 0, after: 0, ackedBeforeKill: 0, strayLeft: 0 };
    const setMs: number[] = [];
    // Writes per killed round: at least one acknowledged (so the file carries daqd's note) plus the
    // one in flight at the kill; the rest of the 200 spread at random, the last round gets what is left.
    const weights = Array.from({ length: KILLS }, () => random());
    const spare = TOTAL_WRITES - 2 * KILLS - 10;
    const sum = weights.reduce((a, b) => a + b, 0);
    const plan = weights.map((w) => 2 + Math.floor((spare * w) / sum));

    for (let round = 0; round <= KILLS; round++) {
      d = round === 0 ? await startDaemon({ config: CONFIG, dir }) : await restartOn(dir);
      expect(tempFilesIn(dir), `temp files after restart ${round}`).toEqual([]);
      await waitInstrumentReady(d, 'pm1');
      // The restarted daemon runs what the file holds.
      expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(acked);
      const client: DaqClient = await d.client();

      const roundsLeft = KILLS - round;
      const killAt = roundsLeft === 0 ? Infinity : plan[round]! - 1;
      let inRound = 0;
      while (sent < TOTAL_WRITES) {
        const value = 401 + sent;
        sent++;
        if (inRound < killAt) {
          const t0 = performance.now();
          const r = await client.call('instrument.set', { id: 'pm1', params: { wavelength_nm: value } });
          setMs.push(performance.now() - t0);
          expect(r.persisted?.written, `write of ${value}`).toBe(true);
          const text = readText(configPath);
          expect(wavelengthIn(text)).toBe(value);
          acked = value;
          ackedText = text;
          inRound++;
          continue;
        }
        // The kill: fire the set and SIGKILL the daemon at a random moment between 0.3 and 1.2 times
        // a typical set's round trip later, wherever it is by then (talking to the device, writing the
        // temp file, renaming, replying, or already done). The file write is the last ~10 ms of
        // the round trip, so the window is weighted towards it.
        const proc = d.proc;
        let gotAck = false;
        const call = client.call('instrument.set', { id: 'pm1', params: { wavelength_nm: value } }).then(
          () => (gotAck = true),
          () => undefined,
        );
        setTimeout(() => proc.kill('SIGKILL'), (0.3 + 0.9 * random()) * median(setMs));
        await d.exited;
        await call;
        client.close();

        const text = readText(configPath);
        let now: number;
        try {
          now = wavelengthIn(text);
        } catch (err) {
          throw new Error(`after kill ${round + 1} (seed ${seed}) the file does not parse: ${String(err)}\n${text}`);
        }
        if (gotAck) outcomes.ackedBeforeKill++;
        if (now === value) {
          expect(norm(text), `kill ${round + 1}: after-state (seed ${seed})`).toBe(withWavelength(ackedText, acked, value));
          outcomes.after++;
          acked = value;
          ackedText = text;
        } else {
          expect(gotAck, `kill ${round + 1}: daqd acknowledged ${value} but the file holds ${now} (seed ${seed})`).toBe(false);
          expect(text, `kill ${round + 1}: before-state (seed ${seed})`).toBe(ackedText);
          outcomes.before++;
        }
        outcomes.strayLeft += tempFilesIn(dir).length;
        // What an interrupted write would leave: a temp file named for the dead daemon.
        const stray = join(dir, `.default.toml.daqd-tmp-${proc.pid}-9999`);
        writeFileSync(stray, '[instruments.half_writ');
        expect(existsSync(stray)).toBe(true);
        break;
      }
      if (roundsLeft === 0) expect(await d.stop()).toBe(0);
    }

    expect(sent).toBe(TOTAL_WRITES);
    expect(wavelengthIn(readText(configPath))).toBe(acked);
    expect(tempFilesIn(dir)).toEqual([]);
    // Everything but pm1's wavelength line and its note is the person's text, byte for byte.
    const final = readText(configPath);
    const was = /\(was (\d+)\)\nwavelength_nm/.exec(final)?.[1];
    expect(norm(final)).toBe(CONFIG.replace('wavelength_nm = 400   #', `# daqd: set <TS> (was ${was})\nwavelength_nm = ${acked}   #`));
    console.log(`persist-crash seed ${seed}: ${KILLS} kills, file held the before-state ${outcomes.before}x, the after-state ${outcomes.after}x (${outcomes.ackedBeforeKill} acked before the kill), ${outcomes.strayLeft} temp files left by kills; set round trip median ${median(setMs).toFixed(1)} ms`);
  });
});
