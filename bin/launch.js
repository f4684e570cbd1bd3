// Starts daqd or daqctl from compiled JavaScript (dist/, built by `npm install` through the
// `prepare` script) when that build is up to date, else from the TypeScript sources through tsx.
//
// Why: tsx compiles every source file at every start (daqctl status took ~0.5 s, ~1.4 s with npx),
// and scripts call daqctl in loops. Why the fallback: a developer edits src/ after `npm install`;
// running the stale build would test and ship old code. So dist/ is used only when no file or
// directory under src/ (and neither tsconfig) changed after the build started: one stat per file,
// about a millisecond, cheaper than any guesswork. DAQD_FROM_SOURCE=1 forces the sources.
//
// `node bin/launch.js build` is the build (npm run build:dist, and prepare).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
/** Its mtime is the moment the build that made dist/ started (set after a build that emitted). */
const STAMP = join(DIST, '.built-from-src');
/** How far before the build's start the stamp is dated (see build()). */
const STAMP_MARGIN_MS = 2000;
const INPUTS = [join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')];

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Infinity; // a missing input: treat as changed
  }
}

/** True when something under `dir` (a file, or a directory whose entries changed) is newer than `since`. */
function changedSince(dir, since) {
  if (mtimeMs(dir) > since) return true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() ? changedSince(path, since) : mtimeMs(path) > since) return true;
  }
  return false;
}

/** The compiled entry point for `name` (e.g. 'cli/daqctl-main'), or null when dist/ is missing or stale. */
export function freshBuild(name) {
  if (process.env.DAQD_FROM_SOURCE === '1') return null;
  const stamp = mtimeMs(STAMP);
  const entry = join(DIST, `${name}.js`);
  if (stamp === Infinity || mtimeMs(entry) === Infinity) return null;
  try {
    if (INPUTS.some((p) => mtimeMs(p) > stamp) || changedSince(SRC, stamp)) return null;
  } catch {
    return null;
  }
  return entry;
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
function build() {
  const started = Date.now();
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
  closeSync(openSync(STAMP, 'w'));
  // Dated before the start: a source saved while tsc ran is newer than the stamp, so dist/ counts as
  // stale. A margin, because file times come from a coarse kernel clock (a few ms behind).
  const at = (started - STAMP_MARGIN_MS) / 1000;
  utimesSync(STAMP, at, at);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'build') {
  process.exit(build());
}
