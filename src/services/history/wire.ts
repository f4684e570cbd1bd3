/**
 * What the history hears (docs/history.md): every instrument.set that went through Daemon.submit
 * (socket, modules, MQTT, schedules, triggers, history.revert: the origin says which), with the
 * device's value before; and every parameter a config command changed (file reload, watcher,
 * transaction, rollback), with the config's value before.
 */
import type { Daemon } from '../../core/daemon.js';
import type { HistoryEntry, HistoryLog } from './history.js';
import { splitOrigin } from './history.js';

export function recordHistory(daemon: Daemon, history: HistoryLog): void {
  const kindOf = (instrument: string, param: string): HistoryEntry['kind'] | undefined => daemon.parameterViews(instrument).find((p) => p.name === param)?.kind;
  daemon.onParamsSet((change) => {
    const { source, sourceId } = splitOrigin(change.origin);
    const values: [string, unknown][] = Object.entries(change.new);
    const olds: Record<string, unknown> = { ...change.old };
    if (change.pollIntervalMs) {
      // poll_interval_ms is a common key, answered apart from the device's params
      values.push(['poll_interval_ms', change.pollIntervalMs.new]);
      olds.poll_interval_ms = change.pollIntervalMs.old;
    }
    history.append(
      values.map(([param, value]) => {
        const old = olds[param] as HistoryEntry['old'];
        const kind = param === 'poll_interval_ms' ? undefined : kindOf(change.instrument, param);
        return {
          revision: change.revision,
          instrument: change.instrument,
          param,
          ...(old !== undefined ? { old } : {}),
          new: value as HistoryEntry['new'],
          source,
          ...(sourceId !== undefined ? { sourceId } : {}),
          ...(kind ? { kind } : {}),
          ...(change.note ? { note: change.note } : {}),
        };
      }),
    );
  });
  daemon.onConfigParams((changes, origin, revision) => {
    if (origin === 'startup') return; // the start-up load is not a change (the file is the state)
    const { source, sourceId } = splitOrigin(origin);
    history.append(
      changes.map((c) => ({
        revision,
        instrument: c.instrument,
        param: c.param,
        ...(c.old !== undefined ? { old: c.old } : {}),
        new: c.new,
        source,
        ...(sourceId !== undefined ? { sourceId } : {}),
        kind: 'setpoint' as const,
      })),
    );
  });
}
