/**
 * The transactions daqd holds: the live ones (open, or committed and waiting for a confirmation)
 * in memory and each in its state file, and a bounded memory of the ended ones, so that staging
 * into an ended transaction answers `expired` with what became of it rather than `not_found`.
 * Kept out of manager.ts, which answers the tx.* methods and acts on deadlines: every change of a
 * record's life (saved, ended) goes through here, so memory, file and `tx.state` event agree.
 */
import type { Logger } from 'pino';
import { DaqError, describeError } from '../../errors.js';
import type { EventBus } from '../events.js';
import { TxStore } from './store.js';
import type { TxRecord, TxState } from './types.js';

/** Ended transactions remembered (the oldest is forgotten first). */
const ENDED_KEPT = 200;

export interface EndedTx {
  state: TxState;
  note?: string;
  at: string;
}

export class TxRecords {
  private readonly live = new Map<string, TxRecord>();
  private readonly ended = new Map<string, EndedTx>();
  private readonly store: TxStore;

  constructor(
    stateDir: string,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly events: EventBus,
  ) {
    this.store = new TxStore(stateDir, log);
  }

  /** What the state dir holds (start-up): the caller decides what each becomes. */
  loadAll(): TxRecord[] {
    return this.store.loadAll();
  }

  /** Forget a state file that holds nothing to resume. */
  discardFile(id: string): Promise<void> {
    return this.store.remove(id);
  }

  /** Hold a record in memory (its file is written by save). */
  add(rec: TxRecord): void {
    this.live.set(rec.id, rec);
  }

  values(): IterableIterator<TxRecord> {
    return this.live.values();
  }

  openCount(): number {
    let n = 0;
    for (const r of this.live.values()) if (r.state === 'open') n++;
    return n;
  }

  /** The committed transaction waiting for its confirmation (at most one). */
  pending(): TxRecord | undefined {
    for (const r of this.live.values()) if (r.state === 'pending_confirm') return r;
    return undefined;
  }

  /** A live record, if it is one. */
  find(id: string): TxRecord | undefined {
    return this.live.get(id);
  }

  /** What became of an ended transaction, if it is remembered. */
  endedOf(id: string): EndedTx | undefined {
    return this.ended.get(id);
  }

  /** A live record; `expired` (with what became of it) for an ended one, else `not_found`. */
  require(id: string): TxRecord {
    const rec = this.live.get(id);
    if (rec) return rec;
    const ended = this.ended.get(id);
    if (ended) throw new DaqError('expired', `transaction ${id} is ${ended.state.replace('_', ' ')}${ended.note ? ` (${ended.note})` : ''}; begin a new one`, { details: { tx: id, state: ended.state } });
    throw new DaqError('not_found', `no transaction "${id}"`);
  }

  /** Write a record's state file; a failure is logged (the record lives on in memory). */
  async save(rec: TxRecord): Promise<void> {
    try {
      await this.store.save(rec);
    } catch (err) {
      this.log.error({ tx: rec.id }, `could not write transaction ${rec.id} to ${this.store.dir}: ${describeError(err)} (it will not survive a restart)`);
    }
  }

  /** A record's life ends: out of memory and off disk, remembered as ended, and a tx.state event. */
  async end(rec: TxRecord, state: TxState, note?: string): Promise<void> {
    rec.state = state;
    this.live.delete(rec.id);
    this.ended.set(rec.id, { state, ...(note ? { note } : {}), at: new Date(this.clock()).toISOString() });
    while (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.keys().next().value!);
    await this.store.remove(rec.id).catch((err: unknown) => this.log.error({ tx: rec.id }, `could not remove ${rec.id}.json: ${describeError(err)}`));
    this.events.emit({ type: 'tx.state', tx: rec.id, state, ...(note ? { message: note } : {}) });
  }
}
