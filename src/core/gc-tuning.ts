/**
 * V8 settings for a daemon whose latency-critical work is many small, short-lived commands.
 *
 * Allocation-site pretenuring: when V8 sees most objects from one `{...}` / `[...]` literal
 * survive a scavenge, it allocates every later object from that literal directly in old space.
 * For daqd that decision is wrong and self-sustaining: a command's objects (job, config draft,
 * xstate snapshots) die within a millisecond, but once they are born old, everything young they
 * point to survives the next scavenge through the remembered set, is promoted, and keeps the
 * literal "surviving". Measured (bench/set-path.bench.ts, and daqd over a pty): with pretenuring
 * ~270-830 KB promoted per scavenge and 1.5-3 ms pauses every ~100 sets (the p99 of a set);
 * without it ~14 KB and 0.2-0.8 ms. Whether a run falls into that state was a coin toss (3 of 4
 * runs), which is why the tail looked random.
 *
 * Heap growing factor 2 (issue #25): after a full GC, V8 lets the old generation grow to up to 4x
 * what survived before the next one when it is allocating fast. A 1000-instrument daemon keeps
 * ~40 MB alive and makes ~10 KB of garbage per reading, so its RSS climbed to 280-300 MB between
 * full GCs for 40 MB of data. With the factor capped at 2 it peaked at 218 MB (from dist, ~200),
 * at the same CPU (44.8 vs 44.7 % of a core; factor 1.5 gave 199 MB at 52 %), measured with
 * bench/fleet-worker.ts on a quiet machine. A daemon that runs for months should not hold 7x its
 * data.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Idempotent; applies to this process from now on (decisions already made are not undone). */
export function tuneGarbageCollectorForLatency(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString('--heap-growing-percent=100');
}
