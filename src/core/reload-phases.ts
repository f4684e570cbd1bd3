/**
 * The phases of a reload of the file after start-up (SIGHUP, config.reload, the watcher, a person's
 * edit applied before a command): who is told that one began and that it ended, and when they have
 * finished hearing it (systemd's RELOADING=1 / READY=1, and config.reload {wait} after READY=1 is
 * read). Kept out of daemon.ts, which wires the parts together: this is one small state machine
 * with rules of its own:
 * - a reload begins when it starts applying (the reload handler calls `begin` through
 *   services.onReloadStart, after a watcher reload of daqd's own write was skipped, so that one
 *   sends neither phase); start-up is not a reload, and while one has begun and not ended another
 *   start is not a second begin;
 * - it ends once the queued job that began it has finished, applied or failed (`end`, after every
 *   job), so the end comes after the command's own steps and before its answer;
 * - listeners are called in the order they were added; one that throws is logged and the others are
 *   still told; what the end listeners return is what `settled` waits for.
 */
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import type { Services } from './execution.js';

/**
 * Around every reload of the file after start-up (SIGHUP, config.reload, the watcher, a person's
 * edit applied before a command): `begin` when it starts applying, `end` when it was applied or
 * failed. systemd's RELOADING=1 / READY=1 (src/services/systemd/). A watcher reload of daqd's own write is
 * skipped before it begins, so it sends neither.
 */
export interface ReloadPhase {
  phase: 'begin' | 'end';
  source: string;
  /** On end: whether the reload failed (the running config was kept). */
  failed?: boolean;
}
export type ReloadListener = (phase: ReloadPhase) => void | Promise<unknown>;

/** The daemon's parts that the reload phases read (the daemon's own, handed over when it is built). */
export interface ReloadPhaseParts {
  log: Logger;
  /** The last reload's outcome: read when a reload ends (failed or not). */
  services: Pick<Services, 'reloads'>;
}

export class ReloadPhases {
  private readonly listeners = new Set<ReloadListener>();
  /** The source of the reload running now (begun, not ended), if any. */
  private running: string | null = null;
  /** What the end listeners of the last reload returned (e.g. systemd has read READY=1). */
  private settling: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: ReloadPhaseParts) {}

  /** services.onReloadStart: a reload of the file starts applying. */
  begin(source: string): void {
    if (source === 'startup' || this.running !== null) return;
    this.running = source;
    this.tell({ phase: 'begin', source });
  }

  /** After every queued job: ends the reload that job began, if any. */
  end(): void {
    if (this.running !== null) {
      const source = this.running;
      this.running = null;
      this.tell({ phase: 'end', source, failed: this.parts.services.reloads.last.outcome === 'failed' });
    }
  }

  private tell(phase: ReloadPhase): void {
    const results: unknown[] = [];
    for (const listener of this.listeners) {
      try {
        results.push(listener(phase));
      } catch (err) {
        this.parts.log.warn({ err }, `reload listener: ${describeError(err)}`);
      }
    }
    if (phase.phase === 'end') this.settling = Promise.allSettled(results);
  }

  /** Listen to the reloads of the file after start-up (see ReloadPhase). */
  on(listener: ReloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the listeners of the last reload's end have finished (config.reload {wait}). */
  async settled(): Promise<void> {
    await this.settling;
  }
}
