/**
 * bin/launch.js runs dist/ only when it was built from exactly the src/ there is now: any edit,
 * new, removed or renamed file, even one put back with an older date, sends it to the sources
 * (tsx), so neither a developer nor the tests ever run a stale build. Tested on a copy of the
 * launcher in a tree of its own (the build itself is `npm run build:dist`: tsc plus the stamp).
 */
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Launcher {
  freshBuild(name: string): string | null;
  sourceSignature(): string;
}

describe('bin/launch.js: compiled only when up to date', () => {
  let root: string;
  let launcher: Launcher;
  const built = () => writeFileSync(join(root, 'dist', '.built-from-src'), `${launcher.sourceSignature()}\n`);
  const fresh = () => launcher.freshBuild('cli/daqctl-main');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'daqd-launch-'));
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    copyFileSync(join(import.meta.dirname, '../../bin/launch.js'), join(root, 'bin', 'launch.js'));
    writeFileSync(join(root, 'tsconfig.json'), '{}');
    writeFileSync(join(root, 'tsconfig.build.json'), '{}');
    writeFileSync(join(root, 'src', 'cli', 'daqctl-main.ts'), 'export {};\n');
    writeFileSync(join(root, 'src', 'cli', 'format.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'dist', 'cli', 'daqctl-main.js'), 'export {};\n');
    launcher = (await import(pathToFileURL(join(root, 'bin', 'launch.js')).href)) as Launcher;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('no stamp: the sources', () => {
    expect(fresh()).toBeNull();
  });

  it('built from this src/: dist/; DAQD_FROM_SOURCE=1: the sources anyway', () => {
    built();
    expect(fresh()).toBe(join(root, 'dist', 'cli', 'daqctl-main.js'));
    process.env.DAQD_FROM_SOURCE = '1';
    try {
      expect(fresh()).toBeNull();
    } finally {
      delete process.env.DAQD_FROM_SOURCE;
    }
  });

  const cases: [string, () => void][] = [
    ['an edited file', () => writeFileSync(join(root, 'src', 'cli', 'format.ts'), 'export const ab = 2;\n')], // (a different size: the same size within one tick of the file clock would be the one blind spot)
    ['a new file', () => writeFileSync(join(root, 'src', 'cli', 'new.ts'), 'export {};\n')],
    ['a removed file', () => rmSync(join(root, 'src', 'cli', 'new.ts'))],
    ['a renamed file', () => renameSync(join(root, 'src', 'cli', 'format.ts'), join(root, 'src', 'cli', 'fmt.ts'))],
    ['a file put back with an older date', () => utimesSync(join(root, 'src', 'cli', 'fmt.ts'), new Date(2020, 0, 1), new Date(2020, 0, 1))],
    ['a changed tsconfig.build.json', () => writeFileSync(join(root, 'tsconfig.build.json'), '{"compilerOptions":{}}')],
  ];
  for (const [what, change] of cases) {
    it(`stale after ${what}`, () => {
      built();
      expect(fresh()).not.toBeNull();
      change();
      expect(fresh()).toBeNull();
    });
  }

  it('a missing compiled entry point: the sources', () => {
    built();
    rmSync(join(root, 'dist', 'cli', 'daqctl-main.js'));
    expect(fresh()).toBeNull();
  });
});
