/**
 * Retention of recorded day files (`keep_days`, `max_gb`): files of days older than keep_days are
 * deleted; then, while the data dir holds more than max bytes, the oldest day's files (every
 * instrument's and the events file) go first. Today's files are never deleted.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { localDay, parseDayFile } from './csv.js';

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
      names = await readdir(join(dataDir, d));
    } catch {
      continue;
    }
    for (const name of names) {
      const p = parseDayFile(name);
      if (!p) continue;
      const path = join(dataDir, d, name);
      try {
        files.push({ path, day: p.day, size: (await stat(path)).size });
      } catch {
        // gone meanwhile
      }
    }
  }
  const today = localDay(policy.now);
  const deleted: string[] = [];
  const remove = async (f: { path: string }) => {
    try {
      await unlink(f.path);
      deleted.push(f.path);
    } catch {
      // already gone
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
      await remove(f);
      total -= f.size;
    }
  }
  return deleted;
}
