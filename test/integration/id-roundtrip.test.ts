/**
 * Ids (issue #16), as a property over seeded random ids: valid ids, including near-misses of
 * Object.prototype names (`constructor_`, `ToString`, `__proto`), round-trip through add -> list ->
 * the file -> a restart -> remove; every Object.prototype name is refused everywhere with the rule,
 * and nothing is added, written or removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { mulberry32 } from '../helpers/prng.js';
import { readText } from './reload-helpers.js';

const SEED = 0x1d16;
const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype);
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';

function randomIds(n: number): string[] {
  const random = mulberry32(SEED);
  const ids = new Set<string>();
  // Near-misses of every prototype name first: they must be ordinary ids.
  for (const name of PROTO_NAMES) {
    const base = name.replace(/[^A-Za-z0-9_-]/g, '');
    ids.add(`${base}_`);
    ids.add(base.slice(0, 1).toUpperCase() + base.slice(1) + '1');
  }
  while (ids.size < PROTO_NAMES.length * 2 + n) {
    const len = 1 + Math.floor(random() * 64);
    ids.add(Array.from({ length: len }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join(''));
  }
  return [...ids].filter((id) => !PROTO_NAMES.includes(id));
}

const fileIds = (path: string) => Object.keys((parse(readText(path)) as { instruments?: object }).instruments ?? {}).sort();

describe('instrument ids', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: '[application.dynamic_config]\nenable_persistence = true\nenable_hot_reload = false\n' });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('every Object.prototype name is refused as an id by every method, with the rule; nothing changes', async () => {
    const before = readText(d.configPath);
    for (const name of PROTO_NAMES) {
      for (const [method, params] of [
        ['instrument.add', { id: name, config: { driver: 'newport_1830c', port: 'sim' } }],
        ['instrument.get', { id: name }],
        ['instrument.remove', { id: name }],
        ['instrument.set', { id: name, params: { wavelength_nm: 800 } }],
        ['instrument.dependencies', { id: name }],
        ['module.add', { id: name, config: { type: 'monitor', reading: 'power', high: 1 } }],
      ] as const) {
        const err = await d.call(method, params).catch((e: unknown) => e);
        expect(err, `${method} ${name}`).toBeInstanceOf(RpcError);
        expect((err as RpcError).kind, `${method} ${name}`).toBe('invalid_params');
        expect((err as RpcError).message).toMatch(/1 to 64|built-in name/);
      }
    }
    expect(readText(d.configPath)).toBe(before);
    expect((await d.call('instrument.list')).instruments).toEqual([]);
  });

  it('random valid ids (and near-misses of prototype names) round-trip through add, list, the file, a restart and remove', async () => {
    const ids = randomIds(40);
    for (const id of ids) await d.call('instrument.add', { id, config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 60_000 } });
    const listed = (await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id).sort();
    expect(listed).toEqual([...ids].sort());
    expect(fileIds(d.configPath)).toEqual([...ids].sort());

    const dir = d.dir;
    expect(await d.stop()).toBe(0);
    d = await startDaemon({ config: undefined as unknown as string, dir });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.length === ids.length, 10_000, 'every instrument back');
    for (const id of ids) expect((await d.call('instrument.get', { id })).id).toBe(id);

    for (const id of ids) await d.call('instrument.remove', { id });
    expect((await d.call('instrument.list')).instruments).toEqual([]);
    expect(fileIds(d.configPath)).toEqual([]);
  });
});
