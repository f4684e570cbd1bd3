/**
 * ConfigFile keeps what its base text reads back as, so each write after the first is verified on
 * the lines it changed (toml-local-verify.ts). Here, through real files: long runs of writes stay
 * exactly right on disk and are verified locally; a person's reload, a failed write and a sync
 * drop back to a full verification and then pick the local one up again.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { ConfigFile } from '../../src/persistence/config-file.js';
import { freezeModel, isFrozenModel } from '../../src/config/model.js';
import { whyNotExactly } from '../../src/persistence/toml-verify.js';
import { renderStats } from '../../src/persistence/toml-writer.js';
import { copy, NOW, type Model } from './helpers.js';
import { mulberry32 } from '../helpers/prng.js';

let dir: string;
let path: string;
const cleanups: Array<() => void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'daqd-known-'));
  path = join(dir, 'lab.toml');
});

afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
  rmSync(dir, { recursive: true, force: true });
});

function lab(instruments: number): string {
  const out = ['# Lab', '', '[application]', 'name = "lab"  # shown in status', ''];
  for (let i = 0; i < instruments; i++) {
    out.push(`# meter ${i}`, `[instruments.pm${i}]`, 'driver = "newport_1830c"', `port = "/dev/ttyUSB${i}"`, '',
      `[instruments.pm${i}.params]`, 'wavelength_nm = 800', 'gain = 1.0  # unity', `"odd key" = "a \\"q\\""`, '');
  }
  return out.join('\n');
}

/** The next model: one of the changes daqd makes all day. */
function change(rnd: () => number, model: Model, i: number): Model {
  const next = copy(model);
  const ids = Object.keys(next.instruments ?? {});
  const id = ids[Math.floor(rnd() * ids.length)];
  const pick = Math.floor(rnd() * 5);
  if (pick === 0 || !id) next.instruments = { ...next.instruments, [`added${i}`]: { driver: 'sim', port: 'sim', params: { gain: 2.5, label: `it's "${i}"` } } };
  else if (pick === 1 && ids.length > 3) delete next.instruments[id];
  else if (pick === 2) next.instruments[id].params.gain = Math.round(rnd() * 100) / 4;
  else if (pick === 3) next.instruments[id].params[`k${i}`] = i;
  else next.instruments[id].params.wavelength_nm = 700 + i;
  return next;
}

async function expectOnDisk(next: Model): Promise<void> {
  expect(whyNotExactly(readFileSync(path, 'utf8'), next)).toBeUndefined();
}

describe('ConfigFile verifies on the lines a change touched', () => {
  it('60 seeded writes: the file reads back as intended after each, all but the first verified locally', async () => {
    writeFileSync(path, lab(12));
    const file = new ConfigFile(path);
    let model = parse(await file.load()) as Model;
    const rnd = mulberry32(25);
    const before = renderStats.verifiedLocally;
    for (let i = 0; i < 60; i++) {
      const next = change(rnd, model, i);
      await file.write(model, next, { now: NOW });
      await expectOnDisk(next);
      model = next;
    }
    expect(renderStats.verifiedLocally - before).toBeGreaterThanOrEqual(55);
  });

  it('the caller changing its model after a write does not change what the next write assumes the file holds', async () => {
    writeFileSync(path, lab(3));
    const file = new ConfigFile(path);
    const model = parse(await file.load()) as Model;
    const next = copy(model);
    next.instruments.pm1.params.gain = 3.5;
    await file.write(model, next, { now: NOW });
    expect(isFrozenModel(next)).toBe(false);
    next.instruments.pm1.params.gain = 99; // the caller's object, not the file's
    next.instruments.pm2.params.wavelength_nm = 1;
    // The next model shares every table it did not change with `next` (the way the daemon builds
    // them): a model the caller can still change is never diffed from by identity all the same.
    const again = { ...next, instruments: { ...next.instruments, pm0: { ...next.instruments.pm0, params: { ...next.instruments.pm0.params, wavelength_nm: 900 } } } };
    const before = renderStats.diffedFromShared;
    await file.write(next, again, { now: NOW });
    await expectOnDisk(again);
    expect(renderStats.diffedFromShared).toBe(before);
  });

  it('a person\'s reload, then daqd writes again: verified in full once, then locally again', async () => {
    writeFileSync(path, lab(4));
    const file = new ConfigFile(path);
    let model = parse(await file.load()) as Model;
    let next = change(mulberry32(1), model, 1);
    await file.write(model, next, { now: NOW });
    const edited = readFileSync(path, 'utf8').replace('wavelength_nm = 800', 'wavelength_nm = 801 # by hand');
    writeFileSync(path, edited);
    model = parse(edited) as Model;
    file.adoptText(edited, model);
    const local = renderStats.verifiedLocally;
    next = copy(model);
    next.application.name = 'after reload';
    await file.write(model, next, { now: NOW });
    await expectOnDisk(next);
    expect(renderStats.verifiedLocally).toBe(local); // the reload's model is not taken on trust
    model = next;
    next = copy(model);
    next.application.name = 'and again';
    await file.write(model, next, { now: NOW });
    await expectOnDisk(next);
    expect(renderStats.verifiedLocally).toBe(local + 1);
  });

  it('a failed write leaves the base as it was; the retry and the writes after it are right', async (ctx) => {
    writeFileSync(path, lab(4));
    const file = new ConfigFile(path);
    const model = parse(await file.load()) as Model;
    const first = copy(model);
    first.instruments.pm0.params.gain = 7.5;
    await file.write(model, first, { now: NOW });
    if (spawnSync('chattr', ['+i', dir], { stdio: 'ignore' }).status !== 0) return ctx.skip();
    cleanups.push(() => spawnSync('chattr', ['-i', dir], { stdio: 'ignore' }));
    const second = copy(first);
    second.instruments.pm1.params.gain = 8.5;
    await expect(file.write(first, second, { now: NOW })).rejects.toMatchObject({ kind: 'persist_failed' });
    spawnSync('chattr', ['-i', dir], { stdio: 'ignore' });
    await file.write(first, second, { now: NOW });
    await expectOnDisk(second);
    const third = copy(second);
    third.instruments.pm2.params.wavelength_nm = 1064;
    await file.write(second, third, { now: NOW });
    await expectOnDisk(third);
  });

  it("frozen path-copied models (the daemon's way) give the very text a full diff gives, write after write", async () => {
    // Two files, the same 80 seeded changes: one told them as the daemon makes them (tables along
    // the changed path copied, the rest shared, all frozen), the other as unshared deep copies.
    const pathB = join(dir, 'b.toml');
    writeFileSync(path, lab(12));
    writeFileSync(pathB, lab(12));
    const shared = new ConfigFile(path);
    const unshared = new ConfigFile(pathB);
    let model = freezeModel(parse(await shared.load()) as Model);
    await unshared.load();
    const rnd = mulberry32(2512);
    const before = renderStats.diffedFromShared;
    for (let i = 0; i < 80; i++) {
      const next = freezeModel(sharedChange(rnd, model, i));
      expect(next.application).toBe(model.application); // shared, not copied
      await shared.write(model, next, { now: NOW });
      await unshared.write(copy(model), copy(next), { now: NOW });
      expect(readFileSync(path, 'utf8')).toBe(readFileSync(pathB, 'utf8'));
      await expectOnDisk(next);
      model = next;
    }
    expect(renderStats.diffedFromShared - before).toBe(79); // every write but the first (no write before it)
  });

});

/** change(), made the daemon's way: copies of the tables along the changed path only. */
function sharedChange(rnd: () => number, model: Model, i: number): Model {
  const ids = Object.keys(model.instruments ?? {});
  const id = ids[Math.floor(rnd() * ids.length)];
  const pick = Math.floor(rnd() * 5);
  const instruments = { ...model.instruments };
  if (pick === 0 || !id) instruments[`added${i}`] = { driver: 'sim', port: 'sim', params: { gain: 2.5, label: `it's "${i}"` } };
  else if (pick === 1 && ids.length > 3) delete instruments[id];
  else {
    const params = { ...instruments[id].params };
    if (pick === 2) params.gain = Math.round(rnd() * 100) / 4;
    else if (pick === 3) params[`k${i}`] = i;
    else params.wavelength_nm = 700 + i;
    instruments[id] = { ...instruments[id], params };
  }
  return { ...model, instruments };
}
