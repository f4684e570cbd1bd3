/**
 * The command socket's file: claiming its path and creating it with its final mode. daqd runs as
 * root on some benches, so a path given by mistake must never cost anyone a file: only a socket
 * file that nothing answers on is ever removed; anything else is refused, named with its type.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, type Stats } from 'node:fs';
import { chmod, chown, lstat, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { createConnection, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
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
 * Refuses a socket directory that others may write to: anyone who can write there can replace the
 * socket with their own and receive the lab's commands. A sticky directory (mode 1777, like /tmp)
 * is accepted: there nobody else can remove or rename daqd's socket, and a file planted at the path
 * beforehand is refused (never used) by claimSocketPath.
 */
export async function checkSocketDir(dir: string): Promise<void> {
  const st = await stat(dir);
  const mode = st.mode & 0o7777;
  if (mode & 0o002 && !(mode & 0o1000)) {
    throw new DaqError(
      'unavailable',
      `the socket's directory ${dir} is writable by everyone (mode ${mode.toString(8).padStart(4, '0')}): anyone could replace daqd's socket; run chmod o-w ${dir} or choose another --socket`,
    );
  }
}

/**
 * Makes sure no other daqd answers on `path` and removes a stale socket file. daqd calls this before
 * it opens any port, so a second daqd started by mistake never touches the first one's devices.
 * Refuses (exit 1 at start-up) when `path` is anything but a socket file.
 */
export async function claimSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
  await checkSocketDir(dirname(path));
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

/** A group name or number (`[application.socket] group`) as a gid; throws naming the group when unknown. */
export function resolveGroup(group: string | number): number {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  try {
    // getent also sees groups from LDAP/sssd, which /etc/group does not hold.
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const gid = Number(line.split(':')[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    // no getent, or no such group: try the file
  }
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
    }
  } catch {
    // no /etc/group
  }
  throw new DaqError('validation_failed', `[application.socket] group "${group}" does not exist on this machine (getent group ${group})`);
}

/**
 * Like listenWithMode, with the socket's group set too, still atomically: the socket is bound under
 * a temporary name with mode 0600 (nobody else can connect), given its group and mode, then renamed
 * to `path`. So `path` never exists with another group or a wider mode.
 */
export async function listenWithModeAndGroup(server: Server, path: string, mode: number, gid: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await unlink(temp).catch(() => {});
  await listenWithMode(server, temp, 0o600);
  try {
    await chown(temp, -1, gid);
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(temp).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new DaqError('port_error', `cannot give the socket ${path} the group ${gid} (${code}); daqd must run as root or as a member of that group`);
  }
}
