/**
 * Watches the config file's directory (not the file's inode, which editors replace on save) and
 * asks for a reload once the file has been quiet for the debounce time and parses. The reload
 * itself is an ordinary `config.reload` command: the watcher decides only *when*.
 */
import { watch, type FSWatcher } from 'chokidar';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseToml } from '../config/load.js';

export interface WatcherOptions {
  file: string;
  debounceMs: () => number;
  /** Submit the reload (through the manager's queue). */
  reload: () => Promise<unknown>;
  log: Logger;
}

/** A save in several writes may not parse yet: look again this many times before reporting it. */
const MAX_UNSTABLE_CHECKS = 3;

export class ConfigWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unstableChecks = 0;
  private readonly file: string;

  constructor(private readonly options: WatcherOptions) {
    this.file = resolve(options.file);
  }

  async start(): Promise<void> {
    if (this.watcher) return;
    const dir = dirname(this.file);
    const name = basename(this.file);
    this.watcher = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      // Only the config file itself: editors' swap and temp files make events of their own.
      ignored: (path: string) => path !== dir && basename(path) !== name,
    });
    const onEvent = (path: string) => {
      if (resolve(path) !== this.file) return;
      this.unstableChecks = 0;
      this.schedule(this.options.debounceMs());
    };
    this.watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    this.watcher.on('error', (err) => this.options.log.warn({ err }, 'config watcher error'));
    await new Promise<void>((r) => this.watcher!.once('ready', () => r()));
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), ms);
  }

  private async fire(): Promise<void> {
    this.timer = null;
    let text: string | null = null;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      text = null; // deleted and not yet recreated: wait for the next event, or report below
    }
    const parses = text !== null && !('issue' in parseToml(text));
    if (!parses && this.unstableChecks < MAX_UNSTABLE_CHECKS) {
      this.unstableChecks++;
      this.schedule(Math.max(50, this.options.debounceMs()));
      return;
    }
    this.unstableChecks = 0;
    try {
      await this.options.reload();
    } catch {
      // The reload reports its own failure (config.reloadFailed event, reload status, log).
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.watcher?.close();
    this.watcher = null;
  }
}
