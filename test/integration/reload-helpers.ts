/**
 * Shared pieces of the hot-reload tests: the ways people save a file, and conditions to wait on
 * (the watcher's own status in daemon.status, events) instead of sleeps.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { waitUntil, type DaemonHandle, type EventRecorder } from '../helpers/daemon.js';

/** The editor writes straight into the file (truncate + write). */
export function saveInPlace(path: string, text: string): void {
  writeFileSync(path, text);
}

/** vim / most editors: write a temp file next to it, rename it over the original. */
export function saveByRename(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.swp-${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Delete, then create a new file with the new text. */
export function saveByDeleteAndRecreate(path: string, text: string): void {
  unlinkSync(path);
  writeFileSync(path, text);
}

/** `sed -i EXPR path` as a real child process (it writes a temp file and renames it). */
export function sedInPlace(path: string, expr: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sed', ['-i', expr, path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sed exited with ${code}: ${err}`))));
  });
}

/**
 * A slow save: the text goes out in `parts` writes with a pause between them (the pause is the
 * scenario under test - a file that is half-written for a while - not a synchronisation).
 */
export async function saveSlowly(path: string, text: string, parts: number, pauseMs: number): Promise<void> {
  const fd = openSync(path, 'w');
  try {
    const size = Math.ceil(text.length / parts);
    for (let i = 0; i < parts; i++) {
      writeSync(fd, text.slice(i * size, (i + 1) * size));
      if (i < parts - 1) await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    closeSync(fd);
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export interface HotReloadStatus {
  enabled: boolean;
  watching: boolean;
  pending: boolean;
  changesSeen: number;
  reloadsRequested: number;
  ownWritesIgnored: number;
}

export async function hotReloadStatus(daemon: DaemonHandle): Promise<HotReloadStatus> {
  return (await daemon.call('daemon.status')).hotReload as HotReloadStatus;
}

/**
 * Wait until the watcher has seen at least `changesAfter` file events and has nothing pending:
 * every change it saw has been reloaded (or ignored), so nothing more can come from them.
 */
export function watcherSettled(daemon: DaemonHandle, changesAfter: number, timeoutMs = 10_000): Promise<HotReloadStatus> {
  return waitUntil(
    async () => {
      const s = await hotReloadStatus(daemon);
      return s.changesSeen >= changesAfter && !s.pending ? s : undefined;
    },
    timeoutMs,
    `the config watcher to see ${changesAfter} change(s) and settle`,
  );
}

export function count(rec: EventRecorder, method: string, from = 0): number {
  return rec.events.slice(from).filter((e) => e.method === method).length;
}

/** Wait for the n-th event of a kind after index `from`. */
export function nth(rec: EventRecorder, method: string, n: number, from = 0, timeoutMs = 10_000) {
  return waitUntil(
    () => {
      const hits = rec.events.slice(from).filter((e) => e.method === method);
      return hits.length >= n ? hits[n - 1] : undefined;
    },
    timeoutMs,
    `${n} ${method} event(s)`,
  );
}

/** Reading sequence numbers of one instrument, in arrival order. */
export function seqsOf(rec: EventRecorder, instrument: string): number[] {
  return rec.events.filter((e) => e.method === 'reading' && e.params.instrument === instrument).map((e) => e.params.seq as number);
}

/** Gaps or restarts in a sequence: pairs where the next seq is not previous + 1. */
export function seqBreaks(seqs: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1]! + 1) out.push([seqs[i - 1]!, seqs[i]!]);
  return out;
}
