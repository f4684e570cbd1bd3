/**
 * An instrument's lane to its device: sets and read-backs run one at a time, in arrival order,
 * written to the device the moment they arrive if nothing else is running. The instrument machine
 * opens the lane when it enters `ready` (with that connection's session) and closes it when it
 * leaves, which fails the operations not yet confirmed.
 *
 * Each instrument has its own lane, so device I/O on one instrument never delays another (issue
 * #15: one global queue made an interlock wait behind a 27 s stage move). The lane also keeps what
 * the device last confirmed or reported (`device`), which is what drift, undo and checkpoints use:
 * never the config, which says what a person wants, not what the hardware holds.
 *
 * Safety traffic (`enqueueUrgent`) aborts the operation in flight, fails the queued sets with kind
 * `aborted`, and runs next. `abort()` does the same without a follow-up (instrument.abort).
 *
 * Why not states in the machine: a set is the latency-critical path (socket request -> bytes at
 * the device). Each xstate event on the instrument machine costs tens of microseconds and ~20 KB
 * of garbage; two events and an eventless transition per set made V8 scavenge every ~80 sets, and
 * those scavenges were the p99 (bench/set-path.bench.ts). The machine still decides *when* the lane
 * may run; this only runs it.
 */
import { DaqError } from '../../errors.js';
import type { ParamValue } from '../../drivers/types.js';
import { readSessionParams, setSessionParams, type Session } from './session.js';

export interface Reply<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export interface SetJob {
  /** Values to write (empty for a read-back). */
  params: Record<string, ParamValue>;
  reply: Reply<Record<string, ParamValue>>;
  /** A read-back instead of a set: the parameter names to ask the device for. */
  read?: readonly string[];
}

/** What the device last confirmed or reported, per parameter. */
export interface DeviceValues {
  values: Record<string, ParamValue>;
  /** When the newest of them was confirmed or reported (ISO time), or null if none yet. */
  at: string | null;
}

export interface AbortOutcome {
  /** An operation was in flight and was told to stop. */
  aborted: boolean;
  /** Queued sets failed with kind `aborted`. */
  failed: number;
}

export class SetQueue {
  private session: Session | null = null;
  /** jobs[0] is the one running while `running` is true. */
  private readonly jobs: SetJob[] = [];
  private running = false;
  private controller: AbortController | null = null;
  private runningSince = 0;
  private readonly device: Record<string, ParamValue> = Object.create(null) as Record<string, ParamValue>;
  private deviceAt: string | null = null;
  /** Counts changes of `device` (see deviceVersion). */
  private deviceChanges = 0;

  constructor(private readonly instrumentId: string) {}

  get isOpen(): boolean {
    return this.session !== null;
  }

  get pending(): number {
    return this.jobs.length;
  }

  /** The operation on the device now, if any (for status: "moving to ..."). */
  busy(): { params: string[]; read: boolean; since: string } | null {
    const job = this.busyJob;
    if (!job) return null;
    return { params: job.read ? [...job.read] : Object.keys(job.params), read: !!job.read, since: new Date(this.runningSince).toISOString() };
  }

  /**
   * What deviceValues() and busy() are made of, for a view reused while they stay put
   * (DaemonViews.describeInstrument): equal stamps, equal answers.
   */
  get deviceVersion(): number {
    return this.deviceChanges;
  }
  get busyJob(): SetJob | undefined {
    return this.running ? this.jobs[0] : undefined;
  }
  get busySince(): number {
    return this.runningSince;
  }

  deviceValues(): DeviceValues {
    return { values: { ...this.device }, at: this.deviceAt };
  }

  /** One device value (no copy of them all: views ask per parameter). */
  deviceValue(name: string): ParamValue | undefined {
    return Object.hasOwn(this.device, name) ? this.device[name] : undefined;
  }

  /** Values the device reported outside a set (connect read-back, a reading of the parameter). */
  noteDevice(values: Readonly<Record<string, ParamValue>>, at = new Date().toISOString()): void {
    let any = false;
    for (const name of Object.keys(values)) {
      this.device[name] = values[name]!;
      any = true;
    }
    if (any) {
      this.deviceAt = at;
      this.deviceChanges++;
    }
  }

  /** One value the device reported (a reading named like the parameter): no object per reading. */
  noteDeviceValue(name: string, value: ParamValue, at: string): void {
    this.device[name] = value;
    this.deviceAt = at;
    this.deviceChanges++;
  }

  /** Forget device values (a new connection may be a different device, or one that was power-cycled). */
  forgetDevice(): void {
    for (const name of Object.keys(this.device)) delete this.device[name];
    this.deviceAt = null;
    this.deviceChanges++;
  }

  /** Operations may run on this session from now on. */
  open(session: Session): void {
    this.session = session;
    if (this.jobs.length > 0 && !this.running) void this.drain(session);
  }

  /** The connection is gone: every operation not yet confirmed fails; new ones are refused by the caller. */
  close(): void {
    this.session = null;
    this.controller?.abort();
    for (const job of this.jobs.splice(0)) {
      job.reply.reject(new DaqError('not_ready', `${this.instrumentId} lost its connection before the set was applied`));
    }
  }

  /** Callers check the instrument is ready first; a closed lane refuses (never parks) an operation. */
  enqueue(job: SetJob): void {
    const session = this.session;
    if (!session) {
      job.reply.reject(new DaqError('not_ready', `${this.instrumentId} is not connected; try again when it is ready`));
      return;
    }
    this.jobs.push(job);
    if (!this.running) void this.drain(session);
  }

  /**
   * Safety traffic: abort the operation in flight, fail every queued set with `aborted`, and run
   * `job` next (its bytes go out as soon as the aborted operation lets go of the link).
   */
  enqueueUrgent(job: SetJob, why: string): void {
    const session = this.session;
    if (!session) {
      job.reply.reject(new DaqError('not_ready', `${this.instrumentId} is not connected; the safe value cannot be set until it is`));
      return;
    }
    this.abort(why);
    if (this.running) this.jobs.splice(1, 0, job);
    else {
      this.jobs.unshift(job);
      void this.drain(session);
    }
  }

  /**
   * Stop the operation in flight (the driver's stop command; its set then fails with `aborted`
   * unless it had already finished) and fail every queued set with `aborted`.
   */
  abort(why: string): AbortOutcome {
    const inFlight = this.running && this.jobs.length > 0;
    const queued = this.jobs.splice(inFlight ? 1 : 0);
    for (const job of queued) {
      job.reply.reject(new DaqError('aborted', `${this.instrumentId}: set of ${Object.keys(job.params).join(', ') || 'nothing'} was not sent: ${why}`));
    }
    if (inFlight) {
      this.controller?.abort(new DaqError('aborted', `${this.instrumentId}: ${why}`));
      const session = this.session;
      // The driver's stop goes out as urgent link traffic; a stop that fails leaves the set to finish or time out.
      if (session?.driver.abort) session.driver.abort().catch(() => {});
    }
    return { aborted: inFlight, failed: queued.length };
  }

  private async drain(session: Session): Promise<void> {
    this.running = true;
    try {
      // A close() empties `jobs` and swaps the session: whatever is still running finishes on the
      // old connection, but its answer has already been given (not_ready).
      while (this.session === session && this.jobs.length > 0) {
        const job = this.jobs[0]!;
        const controller = new AbortController();
        this.controller = controller;
        this.runningSince = Date.now();
        let confirmed: Record<string, ParamValue>;
        try {
          confirmed = job.read
            ? await readSessionParams(session, job.read)
            : await setSessionParams(session, job.params, controller.signal, (done) => this.noteDevice(done));
        } catch (err) {
          if (this.jobs[0] === job) {
            this.jobs.shift();
            job.reply.reject(controller.signal.aborted && !(err instanceof DaqError && err.kind === 'aborted') ? abortedError(this.instrumentId, err) : err);
          }
          continue;
        } finally {
          this.controller = null;
        }
        this.noteDevice(confirmed);
        if (this.jobs[0] !== job) continue; // closed meanwhile: already answered
        this.jobs.shift();
        job.reply.resolve(confirmed);
      }
    } finally {
      this.running = false;
      // Opened on a new session while the old one was still finishing a set.
      if (this.session && this.session !== session && this.jobs.length > 0) void this.drain(this.session);
    }
  }
}

/** A set that failed after it was aborted failed because of the abort, whatever the driver said. */
function abortedError(instrumentId: string, cause: unknown): DaqError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DaqError('aborted', `${instrumentId}: the operation was aborted (${why})`, { cause });
}
