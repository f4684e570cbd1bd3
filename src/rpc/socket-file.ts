/**
 * The command socket's file: claiming its path and creating it with its final mode. daqd runs as
 * root on some benches, so a path given by mistake must never cost anyone a file: only a socket
 * file that nothing answers on is ever removed; anything else is refused, named with its type.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, type Server } from 'node:net';
import { dirname } from 'node:path';
import { DaqError } from '../errors.js';

/** Mode of directories daqd creates for its socket and state: never world-writable. */
export const DIR_MODE = 0o750;

export function fileType(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'a file of unknown type';
}

/** Whether something accepts connections on the socket file at `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      // Refused (or gone meanwhile): nobody listens, the file is stale. Anything else (EACCES, ...)
      // says nothing about liveness, so nothing is removed on its account.
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new DaqError('port_error', `cannot check the socket ${path}: ${err.code ?? err.message}; check its permissions or use --socket`));
    });
  });
}

/**
 * Makes sure no other daqd answers on `path` and removes a stale socket file. daqd calls this before
 * it opens any port, so a second daqd started by mistake never touches the first one's devices.
 * Refuses (exit 1 at start-up) when `path` is anything but a socket file.
 */
export async function claimSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new DaqError('port_error', `cannot use ${path} for the socket: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!st.isSocket()) {
    throw new DaqError(
      'already_exists',
      `the socket path ${path} is ${fileType(st)}, not a socket; daqd replaces only a stale socket file and leaves anything else alone: choose another --socket (or move that file away yourself)`,
    );
  }
  if (await isLive(path)) {
    throw new DaqError('in_use', `another daqd is already listening on ${path}; stop it first or use --socket`);
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw new DaqError('port_error', `cannot replace the stale socket ${path}: ${err.code ?? err.message}`);
  });
}

/**
 * `server.listen(path)` with the socket created at `mode` (e.g. 0660): the umask is set around the
 * listen call, so the file never exists with wider permissions, not even between bind and a chmod.
 * Node binds a Unix socket synchronously inside listen(), so the umask is restored before any other
 * JavaScript runs. (The caller still chmods afterwards: that only ever narrows the mode.)
 */
export async function listenWithMode(server: Server, path: string, mode: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const previous = process.umask(0o777 & ~mode);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
}
