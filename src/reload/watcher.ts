/**
 * Watches the config file's directory (not the file's inode, which editors replace on save) and
 * asks for a reload once the file has been quiet for the debounce time, reads the same twice and
 * parses. The reload itself is an ordinary `config.reload` command: the watcher decides only *when*.
 * Whether a change was the daemon's own write is decided by the reload (by content hash, inside
 * the command queue), so it cannot race with a write.
 */
import { watch, type FSWatcher } from 'chokidar';
import { readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseToml } from '../config/load.js';
import { describeError } from '../errors.js';

export interface WatcherOptions {
  file: string;
  debounceMs: () => number;
  /** Submit the reload (through the manager's queue). Resolves with the command's result. */
  reload: () => Promise<unknown>;
  log: Logger;
}

/** What `daemon.status` shows under `hotReload`; tests wait on `pending` instead of sleeping. */
export interface WatcherStatus {
  watching: boolean;
  debounceMs: number;
  /** A change is waiting out the debounce, or its reload is running. */
  pending: boolean;
  /** File events for the config file since start (after chokidar's own coalescing). */
  changesSeen: number;
  /** Reloads this watcher asked for. */
  reloadsRequested: number;
  /** Of those, the ones that found the daemon's own write (nothing to apply). */
  ownWritesIgnored: number;
  lastChangeAt?: string;
  lastReloadRequestAt?: string;
}

/**
 * chokidar drops a `change` that follows another within 50 ms (and the fs.watch listener within
 * 5 ms), so the debounce timer alone may start from an earlier write than the last one. The file's
 * ctime (updated by writes and by a rename over it) tells when it really last changed.
 */
const MIN_QUIET_MS = 60;
/** A save that is still missing or does not parse after this many looks is reported as it is. */
const MAX_UNPARSED_LOOKS = 3;

interface Look {
  text: string | null;
  changedAtMs: number;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export class ConfigWatcher {
  private watcher: FSWatcher | null = null;
  private starting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  /** Another event arrived while a look or reload was running: look again afterwards. */
  private dirty = false;
  private unparsedLooks = 0;
  private readonly file: string;
  private readonly counters = { changesSeen: 0, reloadsRequested: 0, ownWritesIgnored: 0 };
  private lastChangeAt?: string;
  private lastReloadRequestAt?: string;

  constructor(private readonly options: WatcherOptions) {
    this.file = resolve(options.file);
  }

  status(): WatcherStatus {
    return {
      // Only once chokidar is ready: an edit saved before then may not be seen.
      watching: this.watcher !== null && this.starting === null,
      debounceMs: this.options.debounceMs(),
      pending: this.timer !== null || this.busy,
      ...this.counters,
      ...(this.lastChangeAt ? { lastChangeAt: this.lastChangeAt } : {}),
      ...(this.lastReloadRequestAt ? { lastReloadRequestAt: this.lastReloadRequestAt } : {}),
    };
  }

  async start(): Promise<void> {
    if (this.watcher) return this.starting ?? undefined;
    const dir = dirname(this.file);
    const name = basename(this.file);
    const watcher = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      // Only the config file itself: editors' swap and temp files make events of their own.
      ignored: (path: string) => path !== dir && basename(path) !== name,
    });
    this.watcher = watcher;
    this.starting = new Promise<void>((r) => watcher.once('ready', () => r()));
    const onEvent = (path: string) => {
      if (resolve(path) !== this.file || this.watcher !== watcher) return;
      this.counters.changesSeen++;
      this.lastChangeAt = new Date().toISOString();
      this.unparsedLooks = 0;
      if (this.busy) this.dirty = true;
      else this.schedule(this.quietMs());
    };
    watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    watcher.on('error', (err) => this.options.log.warn({ err }, `config watcher error on ${dir}: ${describeError(err)}`));
    await this.starting;
    this.starting = null;
    this.options.log.info({ file: this.file, debounceMs: this.options.debounceMs() }, 'watching the config file for edits');
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const watcher = this.watcher;
    this.watcher = null;
    if (watcher) {
      await watcher.close();
      this.options.log.info({ file: this.file }, 'stopped watching the config file');
    }
  }

  private quietMs(): number {
    return Math.max(MIN_QUIET_MS, this.options.debounceMs());
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), Math.max(0, ms));
  }

  /** Read the file; null text = missing. Re-reads if it changed while being read. */
  private async look(): Promise<Look> {
    for (let attempt = 0; ; attempt++) {
      let before: Stats;
      try {
        before = await stat(this.file);
      } catch {
        return { text: null, changedAtMs: Date.now() };
      }
      let text: string;
      try {
        text = await readFile(this.file, 'utf8');
      } catch {
        return { text: null, changedAtMs: Date.now() };
      }
      const after = await stat(this.file).catch(() => null);
      if ((after && sameFile(before, after)) || attempt >= 5) {
        return { text, changedAtMs: Math.max(before.mtimeMs, before.ctimeMs) };
      }
    }
  }

  private async fire(): Promise<void> {
    this.timer = null;
    if (!this.watcher) return;
    this.busy = true;
    this.dirty = false;
    try {
      const seen = await this.look();
      // A write chokidar coalesced away: wait out the debounce from that write instead.
      const quiet = this.quietMs();
      const sinceChange = Date.now() - seen.changedAtMs;
      if (sinceChange >= 0 && sinceChange < quiet - 2) {
        this.schedule(quiet - sinceChange);
        return;
      }
      const parses = seen.text !== null && !('issue' in parseToml(seen.text));
      if (!parses && this.unparsedLooks < MAX_UNPARSED_LOOKS - 1) {
        // Part-way through a save (truncated, or deleted and not yet recreated): look again.
        this.unparsedLooks++;
        this.schedule(quiet);
        return;
      }
      this.unparsedLooks = 0;
      this.counters.reloadsRequested++;
      this.lastReloadRequestAt = new Date().toISOString();
      try {
        const result = (await this.options.reload()) as { ignored?: string } | undefined;
        if (result?.ignored === 'own_write') this.counters.ownWritesIgnored++;
      } catch {
        // The reload reports its own failure (config.reloadFailed event, reload status, log).
      }
    } finally {
      this.busy = false;
      if (this.dirty && this.watcher && !this.timer) this.schedule(this.quietMs());
      this.dirty = false;
    }
  }
}
