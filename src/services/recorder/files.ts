/**
 * One open day file of the recorder: found or created for (directory, day, header), appended with
 * whole lines, fdatasync'ed. After a crash the last line may be partial (a kill -9 between two
 * writes cannot cut one, a full disk can): it is cut back to the last newline before appending.
 */
import { fstatSync } from 'node:fs';
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { dayFileName, parseDayFile } from './csv.js';

export class DayFile {
  private constructor(
    readonly path: string,
    readonly day: string,
    readonly header: string,
    private handle: FileHandle,
    private size: number,
  ) {}

  /**
   * The file for `day` whose header is `header`: the day's last file if its header matches,
   * otherwise a new one with the next index (a new header never goes under an old one).
   */
  static async open(dir: string, day: string, header: string): Promise<{ file: DayFile; created: boolean }> {
    await mkdir(dir, { recursive: true });
    let last = -1;
    for (const name of await readdir(dir)) {
      const p = parseDayFile(name);
      if (p && p.day === day && p.index > last) last = p.index;
    }
    if (last >= 0) {
      const path = join(dir, dayFileName(day, last));
      const handle = await open(path, 'r+');
      try {
        const { size } = await handle.stat();
        // In bytes: a unit such as °C or µW is two bytes a character, and a header compared on its
        // UTF-16 length never matched, so every restart began a new .N.csv.
        const headerBytes = Buffer.byteLength(header) + 1;
        const head = Buffer.alloc(Math.min(size, headerBytes));
        await handle.read(head, 0, head.length, 0);
        if (size > 0 && head.toString('utf8') === header + '\n') {
          const end = await wholeLinesEnd(handle, size);
          if (end < size) await handle.truncate(end);
          await handle.close();
          const append = await open(path, 'a');
          return { file: new DayFile(path, day, header, append, end), created: false };
        }
        if (size === 0) {
          // An empty file (created, then the process died before the header): ours to fill.
          await handle.write(header + '\n', 0);
          await handle.datasync();
          await handle.close();
          const append = await open(path, 'a');
          return { file: new DayFile(path, day, header, append, headerBytes), created: true };
        }
      } catch (err) {
        await handle.close().catch(() => {});
        throw err;
      }
      await handle.close();
    }
    const path = join(dir, dayFileName(day, last + 1));
    const handle = await open(path, 'a');
    const line = Buffer.from(header + '\n');
    const { bytesWritten } = await handle.write(line);
    if (bytesWritten !== line.length) {
      await handle.truncate(0).catch(() => {});
      await handle.close();
      throw Object.assign(new Error(`short write to ${path}`), { code: 'ENOSPC' });
    }
    await handle.datasync();
    await syncDir(dir);
    return { file: new DayFile(path, day, header, handle, line.length), created: true };
  }

  /** Appends whole lines; on a short write (disk full) cuts the file back so no partial line stays. */
  async append(data: Buffer): Promise<void> {
    const { bytesWritten } = await this.handle.write(data);
    if (bytesWritten !== data.length) {
      await this.handle.truncate(this.size).catch(() => {});
      throw Object.assign(new Error(`short write to ${this.path} (${bytesWritten} of ${data.length} bytes)`), { code: 'ENOSPC' });
    }
    this.size += data.length;
  }

  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  /** Whether the file was deleted (or its directory) while open: writes would go nowhere. */
  async vanished(): Promise<boolean> {
    // fstat of an open descriptor answers from the inode in memory: done synchronously, it costs a
    // system call instead of a thread-pool round trip per file per flush (1000 files a second).
    return fstatSync(this.handle.fd).nlink === 0;
  }

  get bytes(): number {
    return this.size;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

/** The offset just after the last newline (the end of the last whole line). */
async function wholeLinesEnd(handle: FileHandle, size: number): Promise<number> {
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return size;
  const chunk = 65536;
  for (let end = size; end > 0; end -= chunk) {
    const start = Math.max(0, end - chunk);
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
  }
  return 0;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the file's own data is synced.
  }
}
