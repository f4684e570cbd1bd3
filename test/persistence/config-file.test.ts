/**
 * ConfigFile and atomicWriteFile on real files with real fsync. Failures use things that stop even
 * root (tests run as root): an immutable file or directory (chattr +i), a full tmpfs, a directory
 * where the file should be.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { DaqError } from '../../src/errors.js';
import { atomicWriteFile, removeStrayTempFiles, tempFileName } from '../../src/persistence/atomic-write.js';
import { ConfigFile } from '../../src/persistence/config-file.js';
import { copy, fixture, NOW, replaceOnce, TS, type Model } from './helpers.js';

const LAB = fixture('persistence-lab.toml');
let dir: string;
let cfgPath: string;
const cleanups: Array<() => void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'daqd-persist-'));
  cfgPath = join(dir, 'lab.toml');
  writeFileSync(cfgPath, LAB);
});

afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
  rmSync(dir, { recursive: true, force: true });
});

const strays = () => readdirSync(dir).filter((n) => n.includes('.daqd-tmp-'));
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function rejection(promise: Promise<unknown>): Promise<DaqError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DaqError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function chattr(flag: '+i' | '-i', path: string): boolean {
  return spawnSync('chattr', [flag, path], { stdio: 'ignore' }).status === 0;
}

/** Makes `path` immutable for the rest of the test; false where chattr is not supported. */
function immutable(path: string): boolean {
  if (!chattr('+i', path)) return false;
  cleanups.push(() => chattr('-i', path));
  return true;
}

function withGain(model: Model, gain: number): Model {
  const next = copy(model);
  next.instruments.pm1.params.gain = gain;
  return next;
}

describe('atomicWriteFile', () => {
  it('replaces the file, keeps its mode, fsyncs and leaves no temp file', async () => {
    chmodSync(cfgPath, 0o640);
    await atomicWriteFile(cfgPath, 'a = 1\n');
    expect(readFileSync(cfgPath, 'utf8')).toBe('a = 1\n');
    expect(statSync(cfgPath).mode & 0o777).toBe(0o640);
    expect(strays()).toEqual([]);
  });

  it('writes through a symlink to its target, keeping the link', async () => {
    const real = join(dir, 'real.toml');
    writeFileSync(real, 'a = 1\n');
    const link = join(dir, 'link.toml');
    symlinkSync(real, link);
    await atomicWriteFile(link, 'a = 2\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(readFileSync(real, 'utf8')).toBe('a = 2\n');
  });

  it('a directory where the file should be: persist_failed, temp file removed', async () => {
    const target = join(dir, 'is-a-dir.toml');
    mkdirSync(target);
    const err = await rejection(atomicWriteFile(target, 'a = 1\n'));
    expect(err.kind).toBe('persist_failed');
    expect(err.message).toContain(target);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(strays()).toEqual([]);
  });
});

describe('ConfigFile', () => {
  it('load, write a change, and the written text becomes the known base', async () => {
    const file = new ConfigFile(cfgPath);
    expect(await file.load()).toBe(LAB);
    expect(file.knownHash).toBe(sha(LAB));
    const prev = parse(LAB);
    const result = await file.write(prev, withGain(prev, 3), { now: NOW });
    const onDisk = readFileSync(cfgPath, 'utf8');
    expect(onDisk).toBe(replaceOnce(LAB, 'gain = 1.0 ', `# daqd: set ${TS} (was 1.0)\ngain = 3.0 `));
    expect(result.bytes).toBe(Buffer.byteLength(onDisk));
    expect(result.ms).toBeGreaterThan(0);
    expect(file.knownHash).toBe(sha(onDisk));
    expect(await file.changedOnDisk()).toBe(false);
    expect(strays()).toEqual([]);
  });

  it("a person's edit since load is never overwritten: conflict, their text untouched", async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    const edited = LAB.replace('poll_interval_ms = 250', 'poll_interval_ms = 100 # faster');
    writeFileSync(cfgPath, edited);
    expect(await file.changedOnDisk()).toBe(true);
    const prev = parse(LAB);
    const err = await rejection(file.write(prev, withGain(prev, 3)));
    expect(err.kind).toBe('conflict');
    expect(err.message).toContain(cfgPath);
    expect(readFileSync(cfgPath, 'utf8')).toBe(edited);
  });

  it('after its own write, a same-size edit of one byte is still a conflict (the check compares bytes)', async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    const prev = parse(LAB);
    const next = withGain(prev, 3);
    await file.write(prev, next, { now: NOW });
    const written = readFileSync(cfgPath, 'utf8');
    const edited = replaceOnce(written, 'poll_interval_ms = 250', 'poll_interval_ms = 150');
    expect(edited.length).toBe(written.length);
    writeFileSync(cfgPath, edited);
    expect((await rejection(file.write(next, withGain(next, 4)))).kind).toBe('conflict');
    expect(readFileSync(cfgPath, 'utf8')).toBe(edited);
  });

  it("a person's edit is reported even when the change could not be rendered either", async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    writeFileSync(cfgPath, LAB.replace('poll_interval_ms = 250', 'poll_interval_ms = 100 # faster'));
    const prev = parse(LAB);
    const unrenderable = { ...prev, broken: Symbol('no TOML for this') };
    expect((await rejection(file.write(prev, unrenderable))).kind).toBe('conflict');
    // The same change on an untouched file fails on its own account, and nothing is written.
    writeFileSync(cfgPath, LAB);
    const err = await rejection(file.write(prev, unrenderable));
    expect(err.kind).toBe('persist_failed');
    expect(readFileSync(cfgPath, 'utf8')).toBe(LAB);
  });

  it('a deleted file counts as changed: conflict, nothing created', async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    rmSync(cfgPath);
    expect(await file.changedOnDisk()).toBe(true);
    const prev = parse(LAB);
    expect((await rejection(file.write(prev, withGain(prev, 3)))).kind).toBe('conflict');
    expect(readdirSync(dir)).toEqual([]);
  });

  it("sync writes into the file as it is now, so the person's new comment survives", async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    writeFileSync(cfgPath, LAB.replace('[instruments.tc]\n', '# added by hand\n[instruments.tc]\n'));
    const prev = parse(LAB);
    await file.sync(prev, withGain(prev, 4), { now: NOW });
    const onDisk = readFileSync(cfgPath, 'utf8');
    expect(onDisk).toContain('# added by hand\n[instruments.tc]\n');
    expect(onDisk).toContain('gain = 4.0              # unity gain');
    expect(file.knownHash).toBe(sha(onDisk));
  });

  it('sync recreates a deleted file from the last known text', async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    rmSync(cfgPath);
    const prev = parse(LAB);
    await file.sync(prev, withGain(prev, 4), { now: NOW });
    expect(readFileSync(cfgPath, 'utf8')).toBe(replaceOnce(LAB, 'gain = 1.0 ', `# daqd: set ${TS} (was 1.0)\ngain = 4.0 `));
  });

  it('concurrent writes run one at a time and the last one wins', async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    let model = parse(LAB);
    const writes = [];
    for (let i = 1; i <= 20; i++) {
      const next = withGain(model, i);
      writes.push(file.write(model, next, { now: NOW }));
      model = next;
    }
    await Promise.all(writes);
    expect(parse(readFileSync(cfgPath, 'utf8'))).toEqual(JSON.parse(JSON.stringify(model)));
    expect(readFileSync(cfgPath, 'utf8')).toContain('# daqd: set 2026-11-23T06:50:00Z (was 19.0)\ngain = 20.0');
  });

  it('a change the writer refuses: persist_failed naming the file, file untouched', async () => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    const prev = parse(LAB);
    const next = copy(prev) as Model;
    next.application.name = 'bad \ud800';
    const err = await rejection(file.write(prev, next));
    expect(err.kind).toBe('persist_failed');
    expect(err.message).toContain(cfgPath);
    expect(err.message).toContain('application.name');
    expect(readFileSync(cfgPath, 'utf8')).toBe(LAB);
  });

  it('an immutable file (root cannot write it either): persist_failed with the OS cause, file untouched', async (ctx) => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    if (!immutable(cfgPath)) ctx.skip();
    const prev = parse(LAB);
    const err = await rejection(file.write(prev, withGain(prev, 3)));
    expect(err.kind).toBe('persist_failed');
    expect(err.message).toContain(cfgPath);
    expect(err.message).toMatch(/not permitted \(EPERM\)/);
    expect(readFileSync(cfgPath, 'utf8')).toBe(LAB);
    expect(strays()).toEqual([]);
    expect(file.knownHash).toBe(sha(LAB));
  });

  it('an immutable directory (no temp file can be made): persist_failed, and the next write after the fix carries both changes', async (ctx) => {
    const file = new ConfigFile(cfgPath);
    await file.load();
    if (!immutable(dir)) ctx.skip();
    const prev = parse(LAB);
    const first = withGain(prev, 3);
    const err = await rejection(file.write(prev, first));
    expect(err.kind).toBe('persist_failed');
    expect(err.message).toMatch(/create a temp file.*EPERM/);
    expect(readFileSync(cfgPath, 'utf8')).toBe(LAB);
    cleanups.pop()!(); // the person fixes the directory
    const second = copy(first) as Model;
    second.instruments.stage.params.axis = 2;
    await file.write(first, second, { now: NOW });
    expect(parse(readFileSync(cfgPath, 'utf8'))).toEqual(JSON.parse(JSON.stringify(second)));
  });

  it('a full disk (tiny tmpfs): persist_failed ENOSPC, file untouched, no temp file left', async (ctx) => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' }).status !== 0) ctx.skip();
    cleanups.push(() => execFileSync('umount', [mnt]));
    const small = join(mnt, 'lab.toml');
    writeFileSync(small, LAB);
    const file = new ConfigFile(small);
    await file.load();
    const prev = parse(LAB);
    const next = copy(prev) as Model;
    next.application.notes = 'x'.repeat(100_000);
    const err = await rejection(file.write(prev, next));
    expect(err.kind).toBe('persist_failed');
    expect(err.message).toMatch(/no space left on the device \(ENOSPC\)/);
    expect(readFileSync(small, 'utf8')).toBe(LAB);
    expect(readdirSync(mnt)).toEqual(['lab.toml']);
  });
});

describe('removeStrayTempFiles', () => {
  it("removes temp files of dead processes and this one's, keeps a live process's and unrelated files", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const deadTmp = tempFileName(cfgPath, dead, 7);
    const ownTmp = tempFileName(cfgPath, process.pid, 9_999);
    const liveTmp = tempFileName(cfgPath, 1, 1); // pid 1 is always alive
    const otherFile = join(dir, '.other.toml.daqd-tmp-1-1');
    for (const p of [deadTmp, ownTmp, liveTmp, otherFile]) writeFileSync(p, 'partial');
    const removed = await removeStrayTempFiles(cfgPath);
    expect(removed.sort()).toEqual([deadTmp, ownTmp].sort());
    expect(readdirSync(dir).sort()).toEqual(['.lab.toml.daqd-tmp-1-1', '.other.toml.daqd-tmp-1-1', 'lab.toml'].sort());
  });
});
