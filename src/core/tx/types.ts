/**
 * Transactions (issue #18): the shapes kept per transaction, in memory and under
 * `<state dir>/transactions/<id>.json`.
 */
import type { ParamValue } from '../../drivers/types.js';
import type { Command } from '../commands.js';

/** A staged change: the same shape as the direct command (without persist / ifRev). */
export type StagedCommand = Extract<
  Command,
  { type: 'instrument.add' | 'instrument.remove' | 'instrument.set' | 'module.add' | 'module.remove' | 'module.assign' | 'module.unassign' | 'module.set' }
>;

export interface StagedOp {
  /** 1-based position in the transaction (problems and failures name it). */
  n: number;
  command: StagedCommand;
  at: string;
}

export type TxState =
  | 'open'
  /** tx.commit is applying it (a kill -9 now leaves this on disk: the next start says so). */
  | 'committing'
  /** Committed with confirm_within_s, not confirmed yet: running, file not written. */
  | 'pending_confirm'
  | 'committed'
  | 'rolled_back'
  | 'expired'
  | 'failed'
  | 'reverted';

/** Device values read back before a commit, per instrument (what restore sets back). */
export type DeviceCheckpoint = Record<string, Record<string, ParamValue>>;

export interface PendingConfirm {
  /** Absolute wall-clock ms (survives a restart). */
  deadline: number;
  onTimeout: 'hold' | 'revert';
  /** The touched tables before and after the commit (null: absent): the revert target, the file's next content. */
  before: TouchedTables;
  after: TouchedTables;
  checkpoint: DeviceCheckpoint;
  /** Instruments and modules the transaction touched (revert restores only those). */
  instruments: string[];
  modules: string[];
  /** The hold deadline passed and the alarm was raised. */
  alarm?: { at: string; message: string };
}

export interface TouchedTables {
  instruments: Record<string, unknown>;
  modules: Record<string, unknown>;
}

export interface TxRecord {
  id: string;
  /** The config revision at tx.begin. */
  baseRevision: number;
  createdAt: string;
  /** Last stage / validate / get, in clock ms: idle expiry counts from here. */
  touchedAt: number;
  state: TxState;
  origin: string;
  ops: StagedOp[];
  /** Revision of every instrument / module the transaction touches, when first staged. */
  touched: { instruments: Record<string, number>; modules: Record<string, number> };
  pending?: PendingConfirm;
  /** Why it ended (failed, expired, reverted, interrupted). */
  note?: string;
}

export interface Problem {
  /** The staged operation that caused it (its n), when one did. */
  op?: number;
  opText?: string;
  kind: string;
  path?: string;
  line?: number;
  message: string;
}
