import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../../src/core/daemon.js';
import type { DaemonEvent } from '../../src/core/events.js';

export interface InProcess {
  daemon: Daemon;
  dir: string;
  configPath: string;
  events: DaemonEvent[];
  waitFor<T extends DaemonEvent>(pred: (e: DaemonEvent) => e is T, timeoutMs?: number, what?: string): Promise<T>;
  waitFor(pred: (e: DaemonEvent) => boolean, timeoutMs?: number, what?: string): Promise<DaemonEvent>;
  close(): Promise<void>;
}

/** A Daemon in this process on a temp config (no socket): for core behaviour tests. */
export async function startInProcess(config: string): Promise<InProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'daqd-core-'));
  const configPath = join(dir, 'default.toml');
  writeFileSync(configPath, config);
  const daemon = await Daemon.start({ configPath, stateDir: join(dir, 'state'), log: pino({ level: 'silent' }) });
  const events: DaemonEvent[] = [];
  daemon.events.subscribe((e) => events.push(e));
  const waitFor = (pred: (e: DaemonEvent) => boolean, timeoutMs = 5000, what = 'an event') =>
    new Promise<DaemonEvent>((resolve, reject) => {
      const hit = events.find(pred);
      if (hit) return resolve(hit);
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const off = daemon.events.subscribe((e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  return {
    daemon,
    dir,
    configPath,
    events,
    waitFor: waitFor as InProcess['waitFor'],
    async close() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const reading = (id: string) => (e: DaemonEvent): e is Extract<DaemonEvent, { type: 'reading' }> => e.type === 'reading' && e.instrument === id;
