/** config.reload / config.sync. */
import { createHash } from 'node:crypto';
import { DaqError, describeError, isDaqError } from '../../errors.js';
import { parseToml, readConfigFile } from '../../config/load.js';
import { configInvalid } from '../../config/issues.js';
import type { CommandOf, CommandResult } from '../commands.js';
import { specsOf, type Execution } from '../execution.js';
import type { ConfigModel, ConfigView } from '../../config/model.js';
import type { ConfigDiff } from '../apply/diff.js';
import { describeOverrides, overridesOf, rebaseOverrides, type OverrideView } from '../overrides.js';

export interface ReloadStatus {
  outcome: 'never' | 'applied' | 'unchanged' | 'failed';
  source?: string;
  at?: string;
  durationMs?: number;
  summary?: string;
  diff?: ConfigDiff;
  errors?: unknown[];
  message?: string;
  /** Memory-only changes the reload kept on top of the file, and those the edit replaced. */
  overrides?: { kept: OverrideView[]; replaced: OverrideView[]; note?: string };
}


const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function reloadConfig(x: Execution, cmd: CommandOf<'config.reload'>): Promise<CommandResult> {
  const started = performance.now();
  const at = new Date().toISOString();
  const { persister, events, configPath } = x.services;
  let text: string;
  try {
    text = await readConfigFile(configPath);
  } catch (err) {
    return fail(x, cmd.source, at, err);
  }
  // The watcher sees the daemon's own writes too: skip them by content, not by timestamp. After a
  // failed reload the same text means the person put back what runs: reload it, to clear the failure.
  if (cmd.source === 'watcher' && sha256(text) === persister.knownHash && x.services.reloads.last.outcome !== 'failed') {
    return { outcome: 'unchanged', ignored: 'own_write', reason: 'the file holds what daqd last wrote or loaded' };
  }
  x.services.onReloadStart?.(cmd.source);
  // Parse only: commit validates the whole config once (with the text, for line numbers).
  const parsed = parseToml(text);
  if ('issue' in parsed) return fail(x, cmd.source, at, configInvalid(configPath, [parsed.issue]));
  if (cmd.source === 'startup') {
    if (isBlank(text)) x.services.log.warn(`${configPath} is empty (or only comments): daqd starts idle`);
  } else {
    const emptied = emptiedBy(x.config, parsed.model, text);
    if (emptied && !cmd.allowEmpty) {
      // An editor that truncates the file and writes it after the debounce must not stop the lab.
      const err = new DaqError('validation_failed', `${configPath} ${emptied}; keeping the running config (daqctl reload --allow-empty applies it anyway)`, {
        details: { reason: 'empty', issues: [{ message: `the file ${emptied}; keeping the running config` }] },
      });
      return fail(x, cmd.source, at, err);
    }
  }
  // Memory-only changes stay on top of the file unless the edit touched their keys.
  const overrides = cmd.source === 'startup' ? [] : overridesOf(persister.desiredModel, x.config);
  let rebased = rebaseOverrides(overrides, persister.fileModelView, parsed.model);
  let outcome;
  try {
    outcome = await x.commit(rebased.next, { requireLive: false, text, source: configPath, fromFile: true });
  } catch (err) {
    if (rebased.kept.length === 0) return fail(x, cmd.source, at, err);
    // The edit and an override do not fit together (a role naming an instrument only memory
    // had): the file wins, as it did before overrides existed.
    rebased = { next: parsed.model, kept: [], replaced: [...rebased.replaced, ...rebased.kept] };
    try {
      outcome = await x.commit(parsed.model, { requireLive: false, text, source: configPath, fromFile: true });
    } catch (again) {
      return fail(x, cmd.source, at, again);
    }
  }
  persister.adoptFile(text, parsed.model, rebased.kept.length > 0);
  if (cmd.source === 'startup') warnActionsInFile(x);
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  const applied = outcome.summary !== 'no change';
  const overrideNote =
    overrides.length === 0
      ? {}
      : {
          overrides: {
            kept: describeOverrides(rebased.kept),
            replaced: describeOverrides(rebased.replaced),
            ...(rebased.replaced.length > 0
              ? { note: `the edit replaced memory-only change(s) of ${rebased.replaced.map((op) => op.path.join('.')).join(', ')}` }
              : {}),
          },
        };
  if (rebased.replaced.length > 0) x.services.log.info({ replaced: rebased.replaced.map((op) => op.path.join('.')) }, 'a file edit replaced memory-only changes of the same keys');
  x.services.reloads.last = { outcome: applied ? 'applied' : 'unchanged', source: cmd.source, at, durationMs, summary: outcome.summary, diff: outcome.diff, ...overrideNote };
  if (applied) events.emit({ type: 'config.reloaded', source: cmd.source, diff: outcome.diff, durationMs, at });
  x.services.log.info({ source: cmd.source, durationMs }, `config reload (${cmd.source}): ${outcome.summary}`);
  return { ...x.services.reloads.last };
}

/**
 * Action values in the file (shutter = true, a motion target) are not performed at start-up or on
 * a reconnect; say so once, so nobody reads the file as a promise daqd does not keep.
 */
function warnActionsInFile(x: Execution): void {
  for (const [id, spec] of specsOf(x.config)) {
    const actions = spec.driver
      .params(spec.options)
      .filter((d) => d.kind === 'action' && Object.hasOwn(spec.params, d.name))
      .map((d) => `${d.name} = ${JSON.stringify(spec.params[d.name])}`);
    if (actions.length === 0) continue;
    x.services.log.warn(
      { instrument: id, actions },
      `${id}: ${actions.join(', ')} in the file ${actions.length === 1 ? 'is an action' : 'are actions'}: not performed at start-up or on a reconnect (an edit that changes ${actions.length === 1 ? 'it' : 'them'} while daqd runs is)`,
    );
  }
}

const isBlank = (text: string) => text.split(/\r?\n/).every((line) => line.trim() === '' || line.trim().startsWith('#'));

/**
 * Why applying `next` would empty a running set-up, or undefined: the file is empty (or only
 * comments), or it removes every instrument at once. A set-up that is already empty may be
 * replaced by an empty file.
 */
function emptiedBy(running: ConfigView, next: ConfigModel, text: string): string | undefined {
  const runningInstruments = Object.keys(running.instruments ?? {}).length;
  const runningModules = Object.keys(running.modules ?? {}).length;
  if (runningInstruments + runningModules === 0) return undefined;
  if (isBlank(text)) return 'is empty (or only comments)';
  if (runningInstruments > 0 && Object.keys(next.instruments ?? {}).length === 0) return 'removes every instrument at once';
  return undefined;
}

function fail(x: Execution, source: string, at: string, err: unknown): never {
  const errors = isDaqError(err) && Array.isArray(err.details?.issues) ? (err.details!.issues as unknown[]) : [{ message: describeError(err) }];
  x.services.reloads.last = { outcome: 'failed', source, at, errors, message: describeError(err) };
  x.services.events.emit({ type: 'config.reloadFailed', source, errors, at });
  x.services.log.warn({ source }, `config reload failed, keeping the running config: ${describeError(err)}`);
  throw isDaqError(err) ? err : new DaqError('validation_failed', describeError(err));
}

export async function syncConfig(x: Execution, _cmd: CommandOf<'config.sync'>): Promise<CommandResult> {
  const outcome = await x.services.persister.sync(x.config as ConfigModel);
  return { file: x.services.configPath, ...outcome };
}
