/**
 * A real pseudo-terminal pair made by socat, for tests that go through the serial stack. Each end is
 * a stable symlink in a temp dir, so `kill()` (unplug) and `restart()` (re-plug) keep the same paths,
 * as a USB adapter under /dev/serial/by-id would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Path of one end (give it to the host side, e.g. SerialTransport). */
  readonly a: string;
  /** Path of the other end (give it to serveSimulator). */
  readonly b: string;
  /** Kill socat: both paths disappear and open ports see EIO on their next write. Idempotent. */
  kill(): Promise<void>;
  /** Start socat again on the same paths and wait until they exist. */
  restart(): Promise<void>;
  /** Kill socat and remove the temp dir. */
  dispose(): Promise<void>;
}

export interface PtyOptions {
  /** How long to wait for socat to create both links (ms). */
  startTimeoutMs?: number;
}

/** Polls `condition` until true, or rejects after `timeoutMs` with `what` in the message. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startPtyPair(options: PtyOptions = {}): Promise<PtyPair> {
  const startTimeoutMs = options.startTimeoutMs ?? 5000;
  const dir = mkdtempSync(join(tmpdir(), 'daqd-pty-'));
  const a = join(dir, 'A');
  const b = join(dir, 'B');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const proc = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let dead = false;
    exited = new Promise((resolve) => proc.once('exit', () => ((dead = true), resolve())));
    child = proc;
    try {
      await waitFor(() => dead || (existsSync(a) && existsSync(b)), startTimeoutMs, `socat to create ${a} and ${b}`);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    if (dead) throw new Error(`socat exited before creating the pty pair: ${stderr.trim()}`);
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    // socat removes its links on a clean exit only; after SIGKILL they dangle, so remove them here
    // to make the path vanish, as an unplugged USB adapter's would.
    rmSync(a, { force: true });
    rmSync(b, { force: true });
  };

  await start();
  return {
    a,
    b,
    kill,
    async restart() {
      await kill();
      await start();
    },
    async dispose() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
