/**
 * An instrument's parameter sets: one at a time, in arrival order, written to the device the
 * moment they arrive if nothing else is being set. The instrument machine opens the queue when it
 * enters `ready` (with that connection's session) and closes it when it leaves, which fails the
 * sets not yet confirmed.
 *
 * Why not states in the machine: a set is the latency-critical path (socket request -> bytes at
 * the device). Each xstate event on the instrument machine costs tens of microseconds and ~20 KB
 * of garbage; two events and an eventless transition per set made V8 scavenge every ~80 sets, and
 * those scavenges were the p99 (bench/set-path.bench.ts). The machine still decides *when* sets
 * may run; this only runs them.
 */
import { DaqError } from '../../errors.js';
import type { ParamValue } from '../../drivers/types.js';
import { setSessionParams, type Session } from './session.js';

export interface Reply<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export interface SetJob {
  params: Record<string, ParamValue>;
  reply: Reply<Record<string, ParamValue>>;
}

export class SetQueue {
  private session: Session | null = null;
  private readonly jobs: SetJob[] = [];
  private running = false;

  /** `onConfirmed` is told each set's confirmed values (before its caller gets them). */
  constructor(
    private readonly instrumentId: string,
    private readonly onConfirmed: (confirmed: Record<string, ParamValue>) => void,
  ) {}

  get isOpen(): boolean {
    return this.session !== null;
  }

  get pending(): number {
    return this.jobs.length;
  }

  /** Sets may run on this session from now on. */
  open(session: Session): void {
    this.session = session;
    if (this.jobs.length > 0 && !this.running) void this.drain(session);
  }

  /** The connection is gone: every set not yet confirmed fails; new ones are refused by the caller. */
  close(): void {
    this.session = null;
    for (const job of this.jobs.splice(0)) {
      job.reply.reject(new DaqError('not_ready', `${this.instrumentId} lost its connection before the set was applied`));
    }
  }

  /** Callers check the instrument is ready first; a closed queue refuses (never parks) a set. */
  enqueue(job: SetJob): void {
    const session = this.session;
    if (!session) {
      job.reply.reject(new DaqError('not_ready', `${this.instrumentId} is not connected; try again when it is ready`));
      return;
    }
    this.jobs.push(job);
    if (!this.running) void this.drain(session);
  }

  private async drain(session: Session): Promise<void> {
    this.running = true;
    try {
      // A close() empties `jobs` and swaps the session: whatever is still running finishes on the
      // old connection, but its answer has already been given (not_ready).
      while (this.session === session && this.jobs.length > 0) {
        const job = this.jobs[0]!;
        let confirmed: Record<string, ParamValue>;
        try {
          confirmed = await setSessionParams(session, job.params);
        } catch (err) {
          if (this.jobs[0] === job) {
            this.jobs.shift();
            job.reply.reject(err);
          }
          continue;
        }
        if (this.jobs[0] !== job) continue; // closed meanwhile: already answered
        this.jobs.shift();
        this.onConfirmed(confirmed);
        job.reply.resolve(confirmed);
      }
    } finally {
      this.running = false;
      // Opened on a new session while the old one was still finishing a set.
      if (this.session && this.session !== session && this.jobs.length > 0) void this.drain(this.session);
    }
  }
}
