/**
 * What a command handler gets: a read-only view of the running config and `commit`, the one way
 * to change it (validate the whole next config, apply the difference to the running instruments
 * and modules, write it to the file). Handlers never touch actors or files directly.
 */
import type { Logger } from 'pino';
import { cloneModel, freezeModel, setOwn, type ConfigModel, type ConfigView, type InstrumentModel } from '../config/model.js';
import { configInvalid } from '../config/issues.js';
import type { InstrumentSpec } from '../config/resolve.js';
import { validateConfig, validateInstrumentEdit } from '../config/validate.js';
import type { ParamValue } from '../drivers/types.js';
import { applyDiff } from './apply/apply.js';
import { diffConfigs, isEmptyDiff, summarizeDiff, type ConfigDiff } from './apply/diff.js';
import type { EventBus } from './events.js';
import type { InstrumentSupervisor } from './manager/supervisor.js';
import type { ModuleSupervisor } from '../modules/supervisor.js';
import type { ConfigPersister, PersistOutcome } from './persister.js';
import type { Command } from './commands.js';
import type { ReloadStatus } from './handlers/config.js';

export interface CommitOptions {
  /** undefined = follow enable_persistence; false = memory only. */
  persist?: boolean;
  /** A parameter change must reach the device now (instrument.set) rather than on reconnect. */
  requireLive: boolean;
  /** The TOML source of `next`, when it came from a file: lets errors carry line numbers. */
  text?: string;
  /** Where `next` came from, for error messages ("config/default.toml", "command"). */
  source: string;
  /** The file already holds `next` (a reload): do not write it back. */
  fromFile?: boolean;
  /** Values already written to and confirmed by the device (instrument.record): not sent again. */
  applied?: Record<string, Record<string, ParamValue>>;
  /** Told each apply step before it runs (a transaction names the step that failed). */
  trace?: (step: string) => void;
  /**
   * Runs after the apply and before the file is written (a transaction waits for its instruments
   * to be ready and its sets confirmed). If it throws, nothing is written, the running config is
   * not replaced, and the caller restores the runtime (it holds the checkpoint).
   */
  beforePersist?: (applied: { diff: ConfigDiff; confirmed: Record<string, Record<string, ParamValue>> }) => Promise<void>;
}

export interface CommitOutcome {
  diff: ConfigDiff;
  summary: string;
  confirmed: Record<string, Record<string, ParamValue>>;
  persisted: PersistOutcome;
}

export interface Services {
  instruments: InstrumentSupervisor;
  modules: ModuleSupervisor;
  persister: ConfigPersister;
  events: EventBus;
  log: Logger;
  configPath: string;
  /** The last reload's outcome (config.reloadStatus, daemon.status), kept per daemon. */
  reloads: { last: ReloadStatus };
  /** Called when a reload of the file starts applying (after an own write was skipped): systemd's RELOADING=1. */
  onReloadStart?: (source: string) => void;
  /** Transactions (src/core/tx/): runs the internal tx.apply command in the queue. */
  tx?: { apply(x: Execution, cmd: Extract<Command, { type: 'tx.apply' }>): Promise<Record<string, unknown>> };
  /**
   * Config versions (src/core/versions/): `beforeChange` snapshots the file before every change
   * that alters the running config (never throws); `apply` runs a rollback in the queue.
   */
  versions?: {
    beforeChange(command: Command, origin: string, summary: string): Promise<void>;
    apply(x: Execution, cmd: Extract<Command, { type: 'version.rollback' }>): Promise<Record<string, unknown>>;
  };
}

/** Validated specs per config object: derived data, so it cannot disagree with the config. */
const specCache = new WeakMap<object, ReadonlyMap<string, InstrumentSpec>>();
/** Configs that passed validateConfig with no issue: an edit of one of them may be checked alone. */
const validConfigs = new WeakSet<object>();

export function specsOf(config: ConfigView): ReadonlyMap<string, InstrumentSpec> {
  let specs = specCache.get(config);
  if (!specs) {
    specs = validateConfig(config).specs;
    specCache.set(config, specs);
  }
  return specs;
}

/**
 * A number that is new in the file is written the way its driver declares it: a `number` param
 * as a float (`20.0`), an `integer` param as an integer. Existing values keep their own type.
 */
export function numberKindFrom(specs: ReadonlyMap<string, InstrumentSpec>) {
  return (path: readonly string[]): 'integer' | 'float' | undefined => {
    if (path.length !== 4 || path[0] !== 'instruments' || path[2] !== 'params') return undefined;
    const spec = specs.get(path[1]!);
    const decl = spec?.driver.params(spec.options).find((d) => d.name === path[3]);
    return decl?.type === 'number' ? 'float' : decl?.type === 'integer' ? 'integer' : undefined;
  };
}

/** A shallow copy of `table` with `key` set to `value`, keeping the key order. */
function withKey<T extends object>(table: T, key: string, value: unknown): T {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(table)) setOwn(out, k, k === key ? value : (table as Record<string, unknown>)[k]);
  if (!Object.hasOwn(out, key)) setOwn(out, key, value);
  return out as T;
}

export class Execution {
  /** The config after this command (starts as the running one). Protected: a transaction's staging subclass (src/core/tx/) records without applying. */
  protected current: ConfigModel;
  protected changed = false;

  constructor(
    readonly command: Command,
    readonly origin: string,
    running: ConfigModel,
    readonly services: Services,
  ) {
    this.current = running;
  }

  get config(): ConfigView {
    return this.current;
  }

  /** A private, mutable copy of the current config to build the next one from. */
  draft(): ConfigModel {
    return cloneModel(this.current);
  }

  /**
   * The next config for a change that replaces whole top-level tables (adding an instrument: a new
   * `instruments` table with one more entry): a copy of the root only; every table in it is the
   * running config's own, frozen (replace them, never edit them). Cheaper than draft() by the size
   * of the config, and the file's writer then diffs only the tables that were replaced.
   */
  draftTop(): ConfigModel {
    return { ...this.current };
  }

  /**
   * The next config for a change of one instrument's `params` / `poll_interval_ms`: a copy of
   * that table and of its params (set those freely; its other nested tables are shared, leave them
   * alone) in a config that shares every other part with the current one. Cheaper than draft() by
   * the size of the config, and it lets commit check only what changed.
   */
  draftInstrument(id: string): { next: ConfigModel; table: InstrumentModel } {
    const current = this.current;
    const original = current.instruments![id]!;
    const table = withKey(original, 'params', { ...(original.params ?? {}) });
    if (original.params === undefined) delete table.params;
    return { next: withKey(current, 'instruments', withKey(current.instruments!, id, table)), table };
  }

  /** The new config, if this command changed it. */
  result(): ConfigModel | undefined {
    return this.changed ? this.current : undefined;
  }

  async commit(next: ConfigModel, options: CommitOptions): Promise<CommitOutcome> {
    const { services } = this;
    const prev = this.current;
    const { issues, specs } =
      (options.text === undefined && validConfigs.has(prev) ? validateInstrumentEdit(prev, specsOf(prev), next) : undefined) ??
      validateConfig(next, options.text);
    if (issues.length > 0) throw configInvalid(options.source, issues);
    specCache.set(next, specs);
    validConfigs.add(next);
    // From here on `next` is the running config-to-be: immutable (its shared tables already are).
    freezeModel(next);
    const diff = diffConfigs(prev, next, specs);
    const summary = summarizeDiff(diff);
    // A snapshot of the file as it was, before anything changes (issue #19); identical content is stored once.
    if (services.versions && !isEmptyDiff(diff)) await services.versions.beforeChange(this.command, this.origin, summary);
    const { confirmed } = await applyDiff(
      { prev, next, diff, nextSpecs: specs, prevSpecs: specsOf(prev) },
      services.instruments,
      services.modules,
      { requireLive: options.requireLive, ...(options.applied ? { applied: options.applied } : {}), ...(options.trace ? { trace: options.trace } : {}) },
      services.log,
    );
    if (options.beforePersist) await options.beforePersist({ diff, confirmed });
    this.current = next;
    this.changed = true;
    const persisted: PersistOutcome = options.fromFile
      ? { written: false, reason: 'loaded from the file' }
      : isEmptyDiff(diff)
        ? { written: false, reason: 'no change' }
        : await services.persister.persist(prev, next, options.persist, { numberKind: numberKindFrom(specs) });
    services.log.info({ audit: true, command: this.command.type, origin: this.origin, summary, persisted: persisted.written }, `applied ${this.command.type}: ${summary}`);
    services.events.emit({ type: 'command.applied', command: this.command.type, summary, at: new Date().toISOString() });
    return { diff, summary, confirmed, persisted };
  }
}
