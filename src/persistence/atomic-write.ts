/**
 * Crash-safe file replacement: the new text goes to a temp file in the same directory, is fsynced,
 * renamed over the target and the directory is fsynced, so after a crash or power loss the file is
 * either the old text or the new one, never a mix. A crash between the temp write and the rename
 * leaves a temp file behind; removeStrayTempFiles() clears those at start-up.
 */
import { open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DaqError } from '../errors.js';

let counter = 0;
/** Temp files this process is writing right now (never "stray", even when ours). */
const inFlight = new Set<string>();

export function tempFileName(target: string, pid = process.pid, n = counter): string {
  return join(dirname(target), `.${basename(target)}.daqd-tmp-${pid}-${n}`);
}

function osCause(err: unknown): { cause: string; code?: string } {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const hints: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EISDIR: 'the path is a directory',
    ENOENT: 'the directory does not exist',
    ENOTDIR: 'a part of the path is not a directory',
  };
  const advice: Record<string, string> = {
    EPERM: ' - is the file or its directory immutable (see lsattr) or owned by someone else?',
    EACCES: ' - check the permissions of the file and its directory',
  };
  const cause = code && hints[code] ? `${hints[code]} (${code})${advice[code] ?? ''}` : e instanceof Error ? e.message : String(err);
  return code ? { cause, code } : { cause };
}

/** The file a symlinked config points at: replacing the link itself would detach it. */
async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/** `text` as a string, or as its UTF-8 bytes when the caller has them already (ConfigFile keeps them). */
export async function atomicWriteFile(path: string, text: string | Uint8Array): Promise<void> {
  const target = await resolveTarget(path);
  const dir = dirname(target);
  const tmp = tempFileName(target, process.pid, counter++);
  let step = 'read the current file mode of';
  inFlight.add(tmp);
  try {
    const existing = await stat(target).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    step = 'create a temp file next to';
    const handle = await open(tmp, 'wx', existing ? existing.mode & 0o7777 : 0o666);
    try {
      step = 'write';
      await (typeof text === 'string' ? handle.writeFile(text, 'utf8') : handle.writeFile(text));
      if (existing) {
        // Keep the person's mode and ownership (the daemon may run as another user, e.g. root).
        await handle.chmod(existing.mode & 0o7777);
        await handle.chown(existing.uid, existing.gid).catch(() => undefined);
      }
      step = 'flush (fsync)';
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = 'replace';
    await rename(tmp, target);
    inFlight.delete(tmp);
    step = 'flush the directory of';
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (err) {
    if (inFlight.has(tmp)) {
      inFlight.delete(tmp);
      await unlink(tmp).catch(() => undefined);
    }
    const { cause, code } = osCause(err);
    throw new DaqError('persist_failed', `could not ${step} the config file ${path}: ${cause}; the file was left as it was`, {
      details: { file: path, ...(code ? { code } : {}) },
      cause: err,
    });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files an interrupted write left next to `path`. Files of another live process
 * (another daqd writing the same file right now) and this process's in-flight writes are kept.
 * Returns the paths removed.
 */
export async function removeStrayTempFiles(path: string): Promise<string[]> {
  const target = await resolveTarget(path);
  const dir = dirname(target);
  const prefix = `.${basename(target)}.daqd-tmp-`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)-(\d+)$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const full = join(dir, name);
    const pid = Number(match[1]);
    if (inFlight.has(full) || (pid !== process.pid && pidAlive(pid))) continue;
    try {
      await unlink(full);
      removed.push(full);
    } catch {
      // Already gone or not ours to remove: either way not a reason to stop the daemon starting.
    }
  }
  return removed;
}
