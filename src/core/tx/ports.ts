/**
 * Port checks for tx.validate that never touch a device: is a serial path already open in another
 * process? (read from /proc/<pid>/fd, Linux). A pty's own bridge (the process holding its master,
 * /dev/ptmx, e.g. socat) is not a user of it. Probing (opening the port) is a separate explicit
 * step (`probe`).
 */
import { constants } from 'node:fs';
import { open, readdir, readlink, readFile, realpath } from 'node:fs/promises';

export interface PortHolder {
  pid: number;
  command: string;
}

/** For each path (resolved), the other processes that have it open. */
export async function openedElsewhere(paths: readonly string[]): Promise<Map<string, PortHolder[]>> {
  const wanted = new Map<string, string>();
  for (const p of paths) {
    const real = await realpath(p).catch(() => undefined);
    if (real) wanted.set(real, p);
  }
  const found = new Map<string, PortHolder[]>();
  if (wanted.size === 0) return found;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  } catch {
    return found; // no /proc: nothing to say
  }
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        return;
      }
      const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
      const bridge = targets.includes('/dev/ptmx');
      for (const t of targets) {
        const original = wanted.get(t);
        if (!original) continue;
        if (bridge && t.startsWith('/dev/pts/')) continue;
        const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        const list = found.get(original) ?? [];
        if (!list.some((h) => h.pid === Number(pid))) list.push({ pid: Number(pid), command });
        found.set(original, list);
      }
    }),
  );
  return found;
}

/** --probe: open the port (non-blocking, no controlling tty) and close it at once. */
export async function probePort(path: string): Promise<string | undefined> {
  try {
    const fh = await open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    await fh.close();
    return undefined;
  } catch (err) {
    return `cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}
