/**
 * docs/daqctl.md stays true: every example in a ```console block is run, in the order of the page,
 * against one real daqd on the shipped config (config/default.toml), by a real daqctl process.
 *
 * The notation (described at the top of docs/daqctl.md):
 * - `$ daqctl ARGS` runs daqctl (the test's daemon is found through $DAQD_SOCKET, unless the
 *   example names a --socket). The lines after it, up to the next `$`, must appear in its output
 *   (stdout, then stderr), in that order, other lines may come between; `…` stands for any text and
 *   a run of spaces matches any run of spaces. A last line `^C` means: stop it with SIGINT once the
 *   lines before it were printed (it must then exit 0).
 * - `$ echo $?` and a number: the exit code of the command before. Without it the exit code must be
 *   0, or non-zero when the expected output has a `daqctl:` error line.
 * - `$ cat FILE` and lines: the example's file; the test writes it before going on.
 *
 * A read-only command (status, ls, get, ...) is repeated until its output matches (within 10 s):
 * an example may show a state the daemon reaches at its next poll, e.g. a trip.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAQCTL_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl, type Result } from '../cli/helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const DOC = join(ROOT, 'docs/daqctl.md');

interface Step {
  /** 1-based line in docs/daqctl.md. */
  line: number;
  kind: 'daqctl' | 'cat';
  args: string[];
  expected: string[];
  exitCode?: number;
  interrupt: boolean;
}

/** Shell-like words: spaces split, single or double quotes group. */
function words(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function parseExamples(markdown: string): Step[] {
  const steps: Step[] = [];
  let inBlock = false;
  let current: Step | undefined;
  let expectExit = false;
  markdown.split('\n').forEach((text, i) => {
    if (!inBlock) {
      if (text.trim() === '```console') inBlock = true;
      return;
    }
    if (text.trim() === '```') {
      inBlock = false;
      current = undefined;
      return;
    }
    if (expectExit) {
      steps.at(-1)!.exitCode = Number(text.trim());
      expectExit = false;
      return;
    }
    if (text.startsWith('$ ')) {
      const command = words(text.slice(2));
      if (command[0] === 'echo' && command[1] === '$?') {
        expectExit = true;
        current = undefined;
        return;
      }
      if (command[0] !== 'daqctl' && command[0] !== 'cat') throw new Error(`docs/daqctl.md:${i + 1}: only daqctl, cat and echo $? can run: ${text}`);
      current = { line: i + 1, kind: command[0], args: command.slice(1), expected: [], interrupt: false };
      steps.push(current);
      return;
    }
    if (!current) throw new Error(`docs/daqctl.md:${i + 1}: output without a command: ${text}`);
    if (text === '^C') current.interrupt = true;
    else current.expected.push(text);
  });
  return steps;
}

const normal = (line: string) => line.trim().replace(/\s+/g, ' ');

function pattern(expected: string): RegExp {
  const escaped = normal(expected)
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

/** The expected lines that are still unmatched, in order, over `output`'s lines (others may come between). */
function unmatched(expected: readonly string[], output: string): string[] {
  const lines = output.split('\n').map(normal);
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const re = pattern(expected[i]!);
    while (at < lines.length && !re.test(lines[at]!)) at++;
    if (at >= lines.length) return expected.slice(i);
    at++;
  }
  return [];
}

const READ_ONLY = new Set(['status', 'ls', 'list', 'get', 'deps', 'drivers', 'ports']);
const readOnly = (args: readonly string[]) =>
  READ_ONLY.has(args[0]!) || (args[0] === 'module' && (args.length === 1 || args[1] === 'ls')) || (args[0] === 'reload' && args.includes('--status'));

describe('docs/daqctl.md examples', () => {
  const steps = parseExamples(readFileSync(DOC, 'utf8'));
  let daqd: DaemonHandle;
  let cwd: string;
  const env = () => ({ DAQD_SOCKET: daqd.socketPath });

  beforeAll(async () => {
    daqd = await startDaemon({ config: readFileSync(join(ROOT, 'config/default.toml'), 'utf8') });
    await waitUntil(async () => (await daqd.call('instrument.list')).instruments.every((i: any) => i.state === 'ready' && i.lastReading), 20_000, 'the shipped bench to be ready');
    cwd = mkdtempSync(join(tmpdir(), 'daqctl-docs-'));
  });
  afterAll(async () => {
    await daqd?.dispose();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('has runnable examples for every command family', () => {
    const commands = new Set(steps.filter((s) => s.kind === 'daqctl').map((s) => s.args.find((a) => !a.startsWith('-') && !a.startsWith('/'))));
    for (const c of ['status', 'ls', 'get', 'set', 'abort', 'add', 'rm', 'enable', 'disable', 'restart', 'deps', 'module', 'drivers', 'reload', 'sync', 'watch']) expect(commands).toContain(c);
  });

  /** Runs `args` until `expected` lines were printed, then SIGINT. */
  async function interrupted(step: Step): Promise<Result> {
    const child = spawn(process.execPath, [DAQCTL_BIN, ...step.args], { cwd, env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await waitUntil(() => unmatched(step.expected, stdout).length === 0, 15_000, 'the example output');
    } catch {
      child.kill('SIGKILL');
      await exited;
      return { code: null, stdout, stderr, ms: 0 };
    }
    child.kill('SIGINT');
    return { code: await exited, stdout, stderr, ms: 0 };
  }

  // ~45 daqctl processes one after the other: through tsx on a busy machine that is a minute or two.
  it('every example gives the output and exit code shown', { timeout: 240_000 }, async () => {
    expect(steps.length).toBeGreaterThan(30);
    for (const step of steps) {
      if (step.kind === 'cat') {
        writeFileSync(join(cwd, step.args[0]!), step.expected.join('\n') + '\n');
        continue;
      }
      const where = `docs/daqctl.md:${step.line}: daqctl ${step.args.join(' ')}`;
      let r: Result;
      let missing: string[];
      const deadline = Date.now() + 10_000;
      for (;;) {
        r = step.interrupt ? await interrupted(step) : await daqctl(step.args, { cwd, env: env() });
        missing = unmatched(step.expected, r.stdout + r.stderr);
        if (missing.length === 0 || !readOnly(step.args) || Date.now() > deadline) break;
      }
      expect(missing, `${where}\nnot found in order:\n${missing.join('\n')}\n--- stdout:\n${r.stdout}--- stderr:\n${r.stderr}`).toEqual([]);
      const errorShown = step.expected.some((l) => l.startsWith('daqctl:'));
      if (step.interrupt) expect(r.code, `${where}: exit code after ^C`).toBe(0);
      else if (step.exitCode !== undefined) expect(r.code, `${where}: exit code\n${r.stderr}`).toBe(step.exitCode);
      else if (errorShown) expect(r.code, `${where}: exit code`).not.toBe(0);
      else expect(r.code, `${where}: exit code\n${r.stderr}`).toBe(0);
    }
  });
});
