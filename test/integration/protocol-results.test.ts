/**
 * Results declared once (issue #23): every method with a declared `result` schema is called on a
 * real daqd running the shipped config, and its answer must satisfy the declaration (safeParse), so
 * the schemas (and docs/protocol.schema.json, docs/protocol-methods.md generated from them) cannot
 * drift from what the handlers return. The dispatcher never validates results (no hot-path cost).
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods } from '../../src/rpc/methods/index.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('declared results against a real daqd on the shipped config', () => {
  let d: DaemonHandle;
  const checked = new Set<string>();

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-results-'));
    copyFileSync(join(ROOT, 'config/default.toml'), join(dir, 'default.toml'));
    d = await startDaemon({ config: undefined as unknown as string, dir });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 15_000, 'the shipped bench ready');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  /** Calls a method and checks its answer against the declared result schema. */
  async function call(method: string, params?: unknown): Promise<any> {
    const result = await d.call(method, params);
    const schema = methods.get(method)?.result;
    if (schema) {
      const parsed = schema.safeParse(result);
      expect(parsed.success, `${method} ${JSON.stringify(params)}: ${parsed.success ? '' : parsed.error.message}\n${JSON.stringify(result).slice(0, 2000)}`).toBe(true);
      checked.add(method);
    }
    return result;
  }

  it('every declared result matches what the daemon answers', async () => {
    await call('daemon.status');
    await call('instrument.list');
    await call('instrument.get', { id: 'pm_sample' });
    await call('instrument.get', { id: 'pm_sample', refresh: true });
    await call('instrument.set', { id: 'pm_ref', params: { wavelength_nm: 810 }, persist: false });
    await call('instrument.add', { id: 'pm_x', config: { driver: 'newport_1830c', port: 'sim', params: { wavelength_nm: 700 } }, persist: false, wait: true });
    await call('instrument.add', { id: 'pm_y', toml: 'driver = "newport_1830c"\nport = "sim"\n', persist: false });
    await call('instrument.abort', { id: 'pm_x' });
    await call('instrument.disable', { id: 'pm_x', persist: false });
    await call('instrument.enable', { id: 'pm_x', persist: false });
    await call('instrument.enable', { id: 'pm_x', persist: false, wait: true });
    await call('instrument.restart', { id: 'pm_x' });
    await call('instrument.restart', { id: 'pm_x', wait: true });
    await call('instrument.remove', { id: 'pm_x', persist: false });
    await call('instrument.remove', { id: 'pm_y', persist: false });

    const { modules } = await call('module.list');
    for (const m of modules as { id: string }[]) await call('module.get', { id: m.id });
    await call('module.set', { id: 'chiller_watch', settings: { high: 26 }, persist: false });
    await call('module.reset', { id: 'sample_guard' });

    await call('config.sync');
    await call('config.reload');
    await call('config.reload', { wait: true });
    await call('config.reloadStatus');

    await call('drivers.list');
    for (const name of ['newport_1830c', 'scpi', 'maitai']) await call('drivers.get', { name });
    await call('ports.list');

    const tx = await call('tx.begin');
    await d.call('tx.stageSet', { tx: tx.id, id: 'pm_ref', params: { wavelength_nm: 820 } });
    await call('tx.commit', { tx: tx.id });

    const v = await call('version.create', { label: 'results-test' });
    await call('version.create');
    await call('version.list');
    await call('version.diff', { a: v.id });
    await call('version.diff', { a: 'previous', b: 'running' });
    await call('version.rollback', { id: v.id, dryRun: true });
    await call('version.rollback', { id: v.id });

    await call('history.list');
    await call('history.list', { limit: 1 });
    await call('schedule.list');
    await d.call('schedule.add', { id: 'later', schedule: { type: 'at', instrument: 'pm_ref', param: 'wavelength_nm', value: 633, at: '2099-12-01T18:00:00Z' } });
    await call('schedule.list');

    const declared = [...methods].filter(([, def]) => def.result).map(([name]) => name).sort();
    expect([...checked].sort()).toEqual(declared);
  }, 120_000);
});
