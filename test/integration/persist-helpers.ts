/**
 * Shared pieces of the persistence integration tests (test/integration/persist-*.test.ts): waiting
 * for instruments, comparing a written file with the expected text while letting daqd's comment
 * timestamps vary, and restarting a daemon on the same directory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle, type StartOptions } from '../helpers/daemon.js';

/** The timestamp daqd writes into its comments: ISO-8601 UTC to the second. */
export const TS_RE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/g;

export const toCrlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

/** Replace exactly one occurrence of `find` (fails loudly if it is missing or ambiguous). */
export function replaceOnce(text: string, find: string, replacement: string): string {
  const at = text.indexOf(find);
  if (at < 0 || text.indexOf(find, at + 1) >= 0) throw new Error(`expected exactly one ${JSON.stringify(find)} in the text`);
  return text.slice(0, at) + replacement + text.slice(at + find.length);
}

/**
 * The file equals `expected` byte for byte, where `<TS>` in `expected` stands for a timestamp daqd
 * wrote; every such timestamp must lie between `since` and now (to the second). Timestamps are
 * replaced rather than matched by one big regex so a failure shows a readable line diff.
 */
export function expectFileText(actual: string, expected: string, since: Date): void {
  const floor = Math.floor(since.getTime() / 1000) * 1000;
  for (const ts of actual.match(TS_RE) ?? []) {
    const t = Date.parse(ts);
    expect(t, `timestamp ${ts} in the file`).toBeGreaterThanOrEqual(floor);
    expect(t, `timestamp ${ts} in the file`).toBeLessThanOrEqual(Date.now());
  }
  expect(actual.replace(TS_RE, '<TS>')).toBe(expected);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Every configured instrument is polling (sets are refused until an instrument is connected). */
export async function waitAllReady(d: DaemonHandle, timeoutMs = 10_000): Promise<void> {
  await waitUntil(
    async () => {
      const { instruments } = await d.call<{ instruments: { state: string }[] }>('instrument.list');
      return instruments.length > 0 && instruments.every((i) => i.state === 'ready');
    },
    timeoutMs,
    'every instrument to be ready',
  );
}

export async function waitInstrumentReady(d: DaemonHandle, id: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(async () => (await d.call('instrument.get', { id })).state === 'ready', timeoutMs, `${id} to be ready`);
}

/** Start daqd again on an existing directory, keeping the config file exactly as it is on disk. */
export function restartOn(dir: string, extra: Omit<StartOptions, 'config' | 'dir'> = {}): Promise<DaemonHandle> {
  // startDaemon writes `config` only when it is defined: undefined keeps the file the last daemon left.
  return startDaemon({ ...extra, dir, config: undefined as unknown as string });
}

/** daqd's atomic-write temp files next to the config (naming from src/persistence/atomic-write.ts). */
export function tempFilesIn(dir: string, configName = 'default.toml'): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(`.${configName}.daqd-tmp-`));
}

/** Completed commands so far (the manager's counter in daemon.status). */
export async function completedCommands(d: DaemonHandle): Promise<number> {
  return (await d.call('daemon.status')).queue.completed as number;
}
