/**
 * instrument.set, the path of a command to a device (issue #15): validate, send on the
 * instrument's own lane and confirm by read-back, undo a partly failed multi-value set from a device
 * checkpoint, then record the setpoints that changed through the config queue; and, once done, tell
 * the set hooks (the scheduler) and listeners (recorder, MQTT, history) what the device held before
 * and after. Kept out of daemon.ts, which wires the parts together: this is one job, and the one a
 * person's set, a module's and a schedule's all go through.
 */
import type { Logger } from 'pino';
import type { ConfigView } from '../config/model.js';
import { DaqError, describeError, toDaqError } from '../errors.js';
import type { ParamValue } from '../drivers/types.js';
import type { Command, CommandResult } from './commands.js';
import type { EventBus } from './events.js';
import { planSet } from './handlers/instrument.js';
import { deviceCheckpoint } from './apply/apply.js';
import { confirmedBeforeFailure } from './instrument/session.js';
import type { InstrumentSupervisor } from './manager/supervisor.js';
import type { ConfigPersister } from './persister.js';
import type { ParamChange } from '../services/recorder/recorder.js';

export type SetChange = ParamChange & { revision: number; note?: string; pollIntervalMs?: { old?: number; new: number } };

/**
 * Called when a set went through, before its listeners: may add to the answer (and say so in the
 * history's note). The scheduler uses it to say a manual set paused a ramp.
 */
export type SetHook = (id: string, params: Record<string, ParamValue>, origin: string) => { answer: Record<string, unknown>; note: string } | undefined;

export interface SetFlowDeps {
  instruments: InstrumentSupervisor;
  persister: Pick<ConfigPersister, 'isEnabled' | 'changedOnDisk'>;
  events: EventBus;
  log: Logger;
  configPath: string;
  /** The running config and its revision, as they are now. */
  config(): ConfigView;
  revision(): number;
  /** Queue a config command in the manager (reload first, record after). */
  enqueue(command: Command, origin: string): Promise<CommandResult>;
}

export class SetFlow {
  readonly listeners = new Set<(change: SetChange) => void>();
  readonly hooks = new Set<SetHook>();

  constructor(private readonly deps: SetFlowDeps) {}

  /**
   * instrument.set: a command to the device. Every named value is written and confirmed, even one
   * the config already holds; then the config (and file) take the setpoints that differ. The
   * device I/O runs on the instrument's own lane, so it never delays a command on another one.
   */
  async run(cmd: Extract<Command, { type: 'instrument.set' }>, origin: string): Promise<CommandResult> {
    const d = this.deps;
    let reloadedFirst: Record<string, unknown> | undefined;
    if (cmd.persist !== false && d.persister.isEnabled() && (await d.persister.changedOnDisk())) {
      // A person's edit daqd has not loaded yet is applied first, so recording this set cannot
      // overwrite it. If it cannot be loaded, a person's persisted set is refused before anything
      // is sent (fix the file, or set with persist: false). The safety lane never comes here.
      try {
        const reloaded = await d.enqueue({ type: 'config.reload', source: 'conflict' }, origin);
        reloadedFirst = { summary: reloaded.summary, note: `${d.configPath} had been edited; daqd applied that edit before this command` };
      } catch (err) {
        const error = new DaqError(
          'conflict',
          `${d.configPath} was edited and cannot be loaded (${describeError(err)}); fix the file (daqctl reload shows the errors) and retry, or set it without writing the file (daqctl set --no-persist)`,
        );
        d.log.info({ audit: true, command: cmd.type, origin, instrument: cmd.id, refused: error.kind }, `refused instrument.set ${cmd.id}: ${error.message}`);
        throw error;
      }
    }
    const plan = planSet(d.config(), cmd);
    if (plan.needsReconnect) return d.enqueue(cmd, origin); // a connection-level parameter: the config path reconnects
    const started = performance.now();
    let confirmed: Record<string, ParamValue> = {};
    const names = Object.keys(plan.device);
    // A set of several values is all or nothing: if a later one fails, the earlier ones are put
    // back to what the device held before (asked of the device, never guessed from the config).
    const checkpoint = names.length > 1 && d.instruments.isReady(cmd.id) ? await deviceCheckpoint(d.instruments, cmd.id, names, d.log) : {};
    try {
      if (names.length > 0) confirmed = await d.instruments.setParams(cmd.id, plan.device);
    } catch (err) {
      await this.undoPartial(cmd.id, err, checkpoint);
      const error = toDaqError(err, (e) => d.log.error({ err: e }, 'bug: an error without a code'));
      d.log.info({ audit: true, command: cmd.type, origin, instrument: cmd.id, params: plan.device, refused: error.kind }, `refused instrument.set ${cmd.id}: ${error.message}`);
      throw error;
    }
    const record = await d.enqueue(
      { type: 'instrument.record', id: cmd.id, values: plan.device, ...(plan.pollIntervalMs !== undefined ? { pollIntervalMs: plan.pollIntervalMs } : {}), ...(cmd.persist !== undefined ? { persist: cmd.persist } : {}) },
      origin,
    );
    const changed = (record.changed as string[] | undefined) ?? [];
    if (changed.length === 0) {
      // Recorded changes are audited by the commit; a set that changed no config value is audited here.
      d.log.info({ audit: true, command: cmd.type, origin, instrument: cmd.id, confirmed }, `applied instrument.set ${cmd.id}: device confirmed ${Object.keys(confirmed).join(', ') || 'nothing'}; config unchanged`);
    }
    d.events.emit({ type: 'instrument.updated', instrument: cmd.id, params: confirmed });
    return {
      id: cmd.id,
      params: confirmed,
      changed,
      ...(plan.pollIntervalMs !== undefined ? { poll_interval_ms: plan.pollIntervalMs } : {}),
      persisted: record.persisted,
      revision: d.revision(),
      ms: Math.round((performance.now() - started) * 100) / 100,
      ...(reloadedFirst ? { reloadedFirst } : {}),
    };
  }

  /** Calls the set hooks and listeners once a set is done, with what the device (or config) held before. */
  announce(id: string, origin: string, run: Promise<CommandResult>): Promise<CommandResult> {
    const d = this.deps;
    if (this.listeners.size === 0 && this.hooks.size === 0) return run;
    const view = d.instruments.view(id);
    const instruments = d.config().instruments;
    const table = instruments && Object.hasOwn(instruments, id) ? instruments[id] : undefined;
    const before: Record<string, ParamValue | undefined> = { ...(table?.params ?? {}), ...(view?.device ?? {}) };
    return run.then((result) => {
      const confirmed = (result as { params?: Record<string, ParamValue> }).params ?? {};
      const change: SetChange = { instrument: id, origin, old: {}, new: confirmed, revision: d.revision() };
      const poll = (result as { poll_interval_ms?: number }).poll_interval_ms;
      if (poll !== undefined) change.pollIntervalMs = { ...(view ? { old: view.pollIntervalMs } : {}), new: poll };
      for (const name of Object.keys(confirmed)) change.old[name] = before[name];
      for (const hook of this.hooks) {
        try {
          const said = hook(id, confirmed, origin);
          if (said) {
            result = { ...result, ...said.answer };
            change.note = change.note ? `${change.note}; ${said.note}` : said.note;
          }
        } catch (err) {
          d.log.warn({ err }, `set hook: ${describeError(err)}`);
        }
      }
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (err) {
          d.log.warn({ err }, `set listener: ${describeError(err)}`);
        }
      }
      return result;
    });
  }

  /** A multi-value set failed part way: put back what it had changed, from the device checkpoint. */
  private async undoPartial(id: string, err: unknown, checkpoint: Record<string, ParamValue>): Promise<void> {
    const d = this.deps;
    const partial = confirmedBeforeFailure(err);
    const restore: Record<string, ParamValue> = {};
    for (const name of Object.keys(partial)) if (Object.hasOwn(checkpoint, name)) restore[name] = checkpoint[name]!;
    if (Object.keys(restore).length === 0) return;
    try {
      await d.instruments.setParams(id, restore);
    } catch (undoErr) {
      d.log.error({ instrument: id, restore }, `could not put ${Object.keys(restore).join(', ')} back after a failed set: ${describeError(undoErr)}`);
    }
  }
}
