/**
 * Retention of recorded day files (`keep_days`, `max_gb`): files of days older than keep_days are
 * deleted; then, while the data dir holds more than max bytes, the oldest day's files (every
 * instrument's and the events file) go first. Today's files are never deleted.
 *
 * Only files daqd wrote: a regular file named like a day file, in a real directory of the data dir
 * (a symbolic link is not followed: it may lead to an archive disk), whose first line is one of the
 * recorder's headers. A person's `analysis/2026-01-01.csv` in the same tree is left alone.
 */
import { lstat, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EVENTS_HEADER, READING_HEADER_START, localDay, parseDayFile } from './csv.js';

export interface RetentionPolicy {
  keepDays?: number | undefined;
  maxBytes?: number | undefined;
  now: number;
}

export async function applyRetention(dataDir: string, policy: RetentionPolicy): Promise<string[]> {
  const files: { path: string; day: string; size: number }[] = [];
  let dirs: string[];
  try {
    dirs = await readdir(dataDir);
  } catch {
    return [];
  }
  for (const d of dirs) {
    let names: string[];
    try {
      if (!(await lstat(join(dataDir, d))).isDirectory()) continue;
      names = await readdir(join(dataDir, d));
    } catch {
      continue;
    }
    for (const name of names) {
      const p = parseDayFile(name);
      if (!p) continue;
      const path = join(dataDir, d, name);
      try {
        const st = await lstat(path);
        if (st.isFile() && (await writtenByRecorder(path))) files.push({ path, day: p.day, size: st.size });
      } catch {
        // gone meanwhile
      }
    }
  }
  const today = localDay(policy.now);
  const deleted: string[] = [];
  const remove = async (f: { path: string }): Promise<boolean> => {
    try {
      await unlink(f.path);
      deleted.push(f.path);
      return true;
    } catch {
      return false; // gone already, or not ours to delete: not counted as freed
    }
  };
  let keep = files;
  if (policy.keepDays !== undefined) {
    const d = new Date(policy.now);
    const oldest = localDay(new Date(d.getFullYear(), d.getMonth(), d.getDate() - policy.keepDays + 1).getTime());
    keep = [];
    for (const f of files) {
      if (f.day < oldest && f.day !== today) await remove(f);
      else keep.push(f);
    }
  }
  if (policy.maxBytes !== undefined) {
    let total = keep.reduce((a, f) => a + f.size, 0);
    keep.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    for (const f of keep) {
      if (total <= policy.maxBytes) break;
      if (f.day === today) break;
      if (await remove(f)) total -= f.size;
    }
  }
  return deleted;
}

/** The file starts with a header the recorder writes (a readings file's or the events file's). */
async function writtenByRecorder(path: string): Promise<boolean> {
  const h = await open(path, 'r');
  try {
    const head = Buffer.alloc(EVENTS_HEADER.length + 1);
    const { bytesRead } = await h.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('utf8');
    return text.startsWith(READING_HEADER_START) || text.startsWith(`${EVENTS_HEADER}\n`);
  } finally {
    await h.close();
  }
}
