// Starts daqd or daqctl from compiled JavaScript (dist/, built by `npm install` through the
// `prepare` script) when that build is up to date, else from the TypeScript sources through tsx.
//
// Why: tsx compiles every source file at every start (daqctl status took ~0.5 s, ~1.4 s with npx),
// and scripts call daqctl in loops. Why the fallback: a developer edits src/ after `npm install`;
// running the stale build would test and ship old code. So dist/ is used only when src/ (and the
// tsconfigs) are exactly as they were when the build started: the build records a signature of
// every file and directory under src/ (count, and a checksum of each one's mtime and size), and each
// start compares it with the tree's now. One stat per entry, about a millisecond. No clock is
// compared with another (a file system's timestamps lag the system clock by a tick, or come from
// another machine), and a file put back with an older date changes the checksum too.
// DAQD_FROM_SOURCE=1 forces the sources.
//
// `node bin/launch.js build` is the build (npm run build:dist, and prepare).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
/** Holds the signature of src/ the build started from (see sourceSignature). */
const STAMP = join(DIST, '.built-from-src');
const INPUTS = [join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')];

/** Adds `path`'s mtime (µs) and size to the running checksum; missing paths count too. */
function add(sum, path, stat) {
  const us = stat ? Math.round(stat.mtimeMs * 1000) % 2 ** 32 : 7;
  return (sum + us * 31 + (stat ? stat.size % 2 ** 20 : 0)) % 2 ** 48;
}

function walk(dir, acc) {
  acc.count++;
  acc.sum = add(acc.sum, dir, statSync(dir));
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Concatenation, not path.join: this runs at every start, and join's normalising was a third of it.
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(path, acc);
    else {
      acc.count++;
      acc.sum = add(acc.sum, path, statSync(path));
    }
  }
}

/** "<entries>:<checksum>" of src/ and the tsconfigs: changes with any edit, new, removed or renamed file. */
export function sourceSignature() {
  const acc = { count: 0, sum: 0 };
  walk(SRC, acc);
  for (const p of INPUTS) {
    let st = null;
    try {
      st = statSync(p);
    } catch {
      // counted as missing
    }
    acc.sum = add(acc.sum, p, st);
  }
  return `${acc.count}:${acc.sum}`;
}

/** The compiled entry point for `name` (e.g. 'cli/daqctl-main'), or null when dist/ is missing or stale. */
export function freshBuild(name) {
  if (process.env.DAQD_FROM_SOURCE === '1') return null;
  const entry = join(DIST, `${name}.js`);
  try {
    const built = readFileSync(STAMP, 'utf8').trim();
    statSync(entry);
    return built === sourceSignature() ? entry : null;
  } catch {
    return null; // no build, or src/ unreadable: the sources decide
  }
}

/** Runs src/<name>.ts: compiled when fresh, else through tsx (silently: a dev tree must keep working). */
export async function launch(name, { sourceMaps = false } = {}) {
  const built = freshBuild(name);
  if (built) {
    if (sourceMaps) process.setSourceMapsEnabled(true); // stack traces name the .ts lines
    await import(pathToFileURL(built).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(SRC, `${name}.ts`)).href);
}

/**
 * tsc -p tsconfig.build.json into dist/, then the stamp. Type errors do not stop the build (tsx
 * would run the same code; `npm run typecheck` is where they fail), and neither does a missing
 * TypeScript (an install without dev dependencies): npm install must not fail over either, and the
 * bins then run the sources.
 */
function build(force = false) {
  // Taken before tsc reads anything: a source saved while it runs makes the build stale at once.
  const signature = sourceSignature();
  // Already built from exactly these sources: nothing to do. `npx daqctl` in a fresh clone installs
  // the project into npx's cache and runs prepare again; it must not recompile for 20 s each time.
  if (!force && freshBuild('cli/daqctl-main') && freshBuild('cli/daqd-main')) return 0;
  rmSync(STAMP, { force: true });
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('daqd build: typescript is not installed; daqd and daqctl will run from the sources (slower start)\n');
    return 0;
  }
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  // tsc exit 2: diagnostics, outputs generated; 1: outputs skipped.
  if (r.status !== 0 && r.status !== 2) {
    process.stderr.write(`daqd build: tsc failed (exit ${r.status}); daqd and daqctl will run from the sources\n`);
    return 0;
  }
  if (r.status === 2) process.stderr.write('daqd build: type errors (above; npm run typecheck); dist/ was built anyway\n');
  mkdirSync(DIST, { recursive: true });
  writeFileSync(STAMP, `${signature}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'build') {
  process.exit(build(process.argv.includes('--force')));
}
