/**
 * One daqd per state directory and per config file (issue #17). Two daemons on one config mirrored
 * each other's writes, and the second failed on real ports (`Cannot lock port`) long after it
 * said it was ready. A second daqd is now refused at start with the first one's pid and socket.
 *
 * Two lock files, each created exclusively (O_EXCL) and holding `{pid, socket, config, stateDir}`:
 * `<state dir>/daqd.pid`, and one per config file under the system temp dir (named by the hash of
 * the file's real path: nothing is written beside the config, which may be in a git checkout). A
 * lock whose process is gone (its pid not running, or running a different process: the start time
 * recorded in the lock differs, pids are reused) is stale and taken over.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaqError } from '../errors.js';

export interface LockOwner {
  pid: number;
  /** The process's start time (/proc/<pid>/stat field 22): tells a reused pid from the owner. */
  startTime?: string;
  socket: string;
  config: string;
  stateDir: string;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock's owner still runs. A killed daqd (kill -9) leaves its lock behind, and its pid
 * is reused sooner or later, often by another daqd: the start time says whether it is the same
 * process. Without /proc, the pid alone decides.
 */
function alive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(owner.pid);
  if (now === undefined || owner.startTime === undefined) return true;
  return now === owner.startTime;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function take(path: string, me: LockOwner, what: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o640 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(path);
    if (owner && owner.pid !== me.pid && alive(owner)) {
      throw new DaqError(
        'conflict',
        `another daqd (pid ${owner.pid}) already runs on ${what}; its socket is ${owner.socket} (config ${owner.config}, state dir ${owner.stateDir}). Use that one (daqctl --socket ${owner.socket} status), stop it, or give this one its own --config and --state-dir`,
        { details: { owner } },
      );
    }
    try {
      unlinkSync(path); // stale: its daqd is gone
    } catch {
      // someone else took it over meanwhile: the next attempt says who
    }
  }
  throw new DaqError('conflict', `could not take the lock ${path} (another daqd starting at the same moment?)`);
}

function configLockPath(configPath: string): string {
  let real = configPath;
  try {
    real = realpathSync(configPath);
  } catch {
    // a missing config is reported by the loader, not here
  }
  const dir = join(tmpdir(), 'daqd-locks');
  mkdirSync(dir, { recursive: true, mode: 0o1777 });
  return join(dir, `${createHash('sha256').update(real).digest('hex').slice(0, 32)}.lock`);
}

export class InstanceLock {
  private constructor(private readonly paths: string[], private readonly pid: number) {}

  /** Throws `conflict` naming the running daqd when the state dir or the config file is taken. */
  static acquire(configPath: string, stateDir: string, socket: string): InstanceLock {
    const startTime = startTimeOf(process.pid);
    const me: LockOwner = { pid: process.pid, ...(startTime ? { startTime } : {}), socket, config: configPath, stateDir };
    const statePath = join(stateDir, 'daqd.pid');
    take(statePath, me, `the state dir ${stateDir}`);
    const configLock = configLockPath(configPath);
    try {
      take(configLock, me, `the config file ${configPath}`);
    } catch (err) {
      unlinkSync(statePath);
      throw err;
    }
    return new InstanceLock([statePath, configLock], process.pid);
  }

  /** Idempotent; removes only locks this process still holds. */
  release(): void {
    for (const path of this.paths) {
      if (readOwner(path)?.pid !== this.pid) continue;
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  }
}
