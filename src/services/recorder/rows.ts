/**
 * The rows of one segment waiting for the next flush, held as their UTF-8 bytes rather than as
 * strings. Why (issue 25): a row waits up to a flush interval (1 s), which is several young-
 * generation collections at fleet scale, so rows held as strings were promoted to the old
 * generation - 10,000 strings a second at 1000 instruments x 10 Hz - and cost a full collection's
 * marking later. Written into a Buffer at once, a row's string dies young and its bytes sit outside
 * the JS heap. A flush then writes the bytes as they are (no join, no encode).
 *
 * Row boundaries are kept (a flush writes whole rows; a full memory drops whole rows, oldest first).
 */

/** Capacity of a buffer kept after it was drained; a larger one (after an outage) is released. */
const KEEP_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class RowBuffer {
  private bytes: Buffer = EMPTY;
  private end = 0;
  /** The offset just past each row. */
  private readonly ends: number[] = [];

  get count(): number {
    return this.ends.length;
  }

  /** Appends one row (a whole line, newline included). */
  push(line: string): void {
    // At most 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units).
    const need = this.end + line.length * 3;
    if (need > this.bytes.length) this.grow(need);
    this.end += this.bytes.write(line, this.end, 'utf8');
    this.ends.push(this.end);
  }

  /** A copy of the first `n` rows' bytes (the buffer goes on taking rows while the copy is written). */
  copyFirst(n: number): Buffer {
    const rows = Math.min(n, this.ends.length);
    const to = rows <= 0 ? 0 : this.ends[rows - 1]!;
    return Buffer.from(this.bytes.subarray(0, to));
  }

  /** Forgets the first `n` rows. */
  dropFirst(n: number): void {
    this.dropAt(0, n);
  }

  /** Forgets `n` rows from row `from` on (rows before it, a flush's rows in flight, stay). */
  dropAt(from: number, n: number): void {
    const count = Math.min(n, this.ends.length - from);
    if (count <= 0) return;
    if (count === this.ends.length) {
      this.end = 0;
      this.ends.length = 0;
      if (this.bytes.length > KEEP_BYTES) this.bytes = EMPTY;
      return;
    }
    const start = from === 0 ? 0 : this.ends[from - 1]!;
    const cut = this.ends[from + count - 1]! - start;
    this.bytes.copyWithin(start, start + cut, this.end);
    this.end -= cut;
    this.ends.splice(from, count);
    for (let i = from; i < this.ends.length; i++) this.ends[i] = this.ends[i]! - cut;
  }

  private grow(need: number): void {
    // Its own memory (not a slice of Node's shared pool), doubled so appends stay amortised O(1).
    const next = Buffer.allocUnsafeSlow(Math.max(need, this.bytes.length * 2, 1024));
    this.bytes.copy(next, 0, 0, this.end);
    this.bytes = next;
  }
}
