/**
 * Running one queued command: the manager machine hands jobs over one at a time, on the running
 * config. Kept out of daemon.ts, which wires the parts together, because running a job has rules
 * of its own:
 * - a change that will be written to a file a person edited since daqd last loaded it applies
 *   that edit first, so the command's write cannot overwrite it (a recorded set, whose values the
 *   device already holds, is kept in memory instead when the edit cannot be loaded);
 * - a refused command is audited with its kind, and an error without a code is logged as a bug;
 * - a job that changed the running config is one revision, and the parameters it changed reach
 *   the history's listeners with the job's source (sets are told by the set flow).
 */
import type { Logger } from 'pino';
import type { ConfigModel } from '../config/model.js';
import { DaqError, describeError, toDaqError } from '../errors.js';
import { Execution, type Services } from './execution.js';
import { handlerFor, WRITES_CONFIG } from './handlers/index.js';
import { reloadConfig } from './handlers/config.js';
import type { Job, JobOutcome } from './manager/machine.js';
import type { ConfigPersister } from './persister.js';
import { paramChanges, type ConfigParamChange, type Revisions } from './revisions.js';

export type ConfigParamListener = (changes: ConfigParamChange[], origin: string, revision: number) => void;

/** The daemon's parts a job runs with (the daemon's own, handed over when it is built). */
export interface JobRunnerParts {
  configPath: string;
  log: Logger;
  revisions: Revisions;
  persister: ConfigPersister;
  services: Services;
}

export class JobRunner {
  private readonly paramListeners = new Set<ConfigParamListener>();

  constructor(private readonly parts: JobRunnerParts) {}

  /** Listen to parameters changed by config commands (reload, transaction, rollback), with the origin. */
  onConfigParams(listener: ConfigParamListener): () => void {
    this.paramListeners.add(listener);
    return () => this.paramListeners.delete(listener);
  }

  /** Runs a job on the running config `config`: its outcome (result or error) and the config it made. */
  async run(job: Job, config: ConfigModel): Promise<JobOutcome> {
    let running = config;
    let reloadedFirst: Record<string, unknown> | undefined;
    try {
      const cmd = job.command;
      if (cmd.type !== 'instrument.record') this.parts.revisions.check(cmd);
      const persists = WRITES_CONFIG.has(cmd.type) && (cmd as { persist?: boolean }).persist !== false && this.parts.persister.isEnabled();
      if (persists && (await this.parts.persister.changedOnDisk())) {
        // A person edited the file and daqd has not loaded it yet: apply their edit first, so
        // this command's write cannot overwrite it.
        const rx = new Execution({ type: 'config.reload', source: 'conflict' }, job.origin, running, this.parts.services);
        try {
          const reloaded = await reloadConfig(rx, { type: 'config.reload', source: 'conflict' });
          // Say so in the answer: the file won, so changes kept in memory only may have been undone.
          reloadedFirst = { summary: reloaded.summary, note: `${this.parts.configPath} had been edited; daqd applied that edit before this command` };
        } catch (err) {
          const why = `${this.parts.configPath} was edited and cannot be loaded (${describeError(err)})`;
          if (cmd.type !== 'instrument.record') throw new DaqError('conflict', `${why}; fix the file (daqctl reload shows the errors) and retry`);
          // The device already holds the set's values: the config takes them, the file cannot
          // (it would overwrite the person's edit). config.sync writes them once the file is fixed.
          const x = new Execution(cmd, job.origin, running, this.parts.services);
          const result = await handlerFor(cmd.type)(x, { ...cmd, persist: false } as never);
          const persisted = { written: false, reason: `${why}; the change is kept in memory: fix the file, then daqctl sync` };
          return { result: { ...result, persisted }, config: x.result() };
        }
        running = rx.result() ?? running;
      }
      const x = new Execution(cmd, job.origin, running, this.parts.services);
      const result = await handlerFor(cmd.type)(x, cmd as never);
      return { result: reloadedFirst ? { ...result, reloadedFirst } : result, config: x.result() ?? (running !== config ? running : undefined) };
    } catch (err) {
      const error = toDaqError(err, (e) => this.parts.log.error({ err: e }, 'bug: an error without a code'));
      if (job.command.type !== 'config.reload') {
        // Refused changes are audited too (reload failures are logged by the reload itself).
        this.parts.log.info({ audit: true, command: job.command.type, origin: job.origin, refused: error.kind }, `refused ${job.command.type}: ${error.message}`);
      }
      return { error, config: running !== config ? running : undefined };
    }
  }

  /** A job that changed the running config is one revision; the tables it changed take that number. */
  count(job: Job, before: ConfigModel, outcome: JobOutcome): JobOutcome {
    const after = outcome.config;
    if (!after || after === before) return outcome;
    const cmd = job.command;
    // A recorded set changes its own instrument only, unless a person's edit was applied first.
    const only = cmd.type === 'instrument.record' && !(outcome.result && 'reloadedFirst' in outcome.result) ? [cmd.id] : undefined;
    const revision = this.parts.revisions.count(before, after, only);
    if (outcome.result) outcome = { ...outcome, result: { ...outcome.result, revision } };
    // Sets are told by tellSet (with the device's value before); other commands that changed a
    // parameter (file reload, transaction, rollback) are told here, from the config before.
    if (cmd.type !== 'instrument.record' && cmd.type !== 'instrument.set' && this.paramListeners.size > 0 && before.instruments !== after.instruments) {
      const changes = paramChanges(before, after);
      // The history's source: the transaction or version, not the socket that asked for it.
      const origin = cmd.type === 'version.rollback' ? `rollback:${cmd.id}` : cmd.type === 'tx.apply' ? `tx:${cmd.txId}` : job.origin;
      if (changes.length > 0) {
        for (const listener of this.paramListeners) {
          try {
            listener(changes, origin, revision);
          } catch (err) {
            this.parts.log.warn({ err }, `config param listener: ${describeError(err)}`);
          }
        }
      }
    }
    return outcome;
  }
}
