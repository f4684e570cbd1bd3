/**
 * The one line systemd shows under `systemctl status daqd` (STATUS=), e.g.
 * "8 instruments ready, 1 in error; interlock sample_guard tripped". Built from daemon.status():
 * instrument counts by state, then what a person must know about (the `trouble` of daqctl status).
 */
import { oneLine } from './notify.js';
import type { DaemonEventType, EventBus } from '../../core/events.js';

export interface StatusInput {
  instruments: Record<string, number> & { total: number };
  trouble?: {
    interlocks?: { module: string }[];
    alarms?: { module: string }[];
    degradedModules?: { module: string }[];
    instrumentsInError?: { id: string }[];
    drift?: unknown[];
    configFile?: { missing?: boolean; unloadedEdit?: boolean; reloadFailed?: boolean };
  };
  safeMode?: { active: boolean; held: string[] };
}

const STATE_WORDS: [string, string][] = [
  ['error', 'in error'],
  ['connecting', 'connecting'],
  ['reconnecting', 'reconnecting'],
  ['stopping', 'stopping'],
  ['disabled', 'disabled'],
  ['stopped', 'stopped'],
];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function names(list: { module?: string; id?: string }[], max = 3): string {
  const ids = list.map((x) => x.module ?? x.id ?? '?');
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

export function statusLine(s: StatusInput): string {
  const counts = s.instruments;
  const held = s.safeMode?.active ? s.safeMode.held.length : 0;
  const parts: string[] = [];
  const ready = counts.ready ?? 0;
  parts.push(counts.total === 0 ? 'no instruments' : `${plural(ready, 'instrument')} ready`);
  for (const [state, word] of STATE_WORDS) {
    let n = counts[state] ?? 0;
    if (state === 'disabled') n -= held;
    if (n > 0) parts.push(`${n} ${word}`);
  }
  for (const [state, n] of Object.entries(counts)) {
    if (state !== 'total' && state !== 'ready' && !STATE_WORDS.some(([k]) => k === state) && n > 0) parts.push(`${n} ${state}`);
  }
  if (held > 0) parts.push(`${held} held by safe mode (daqctl enable ID)`);
  const trouble: string[] = [];
  const t = s.trouble ?? {};
  if (t.interlocks?.length) trouble.push(`${t.interlocks.length === 1 ? 'interlock' : 'interlocks'} ${names(t.interlocks)} tripped`);
  if (t.alarms?.length) trouble.push(`${t.alarms.length === 1 ? 'alarm' : 'alarms'} on ${names(t.alarms)}`);
  if (t.degradedModules?.length) trouble.push(`${names(t.degradedModules)} degraded`);
  if (t.drift?.length) trouble.push(`${plural(t.drift.length, 'drifted value')}`);
  if (t.configFile?.reloadFailed) trouble.push('last reload failed (daqctl reload --status)');
  if (t.configFile?.missing) trouble.push('config file missing');
  else if (t.configFile?.unloadedEdit) trouble.push('config file has an edit not loaded');
  const line = (s.safeMode?.active ? 'safe mode: ' : '') + parts.join(', ') + (trouble.length ? `; ${trouble.join('; ')}` : '');
  return oneLine(line);
}

/** Events after which the status line may read differently (readings never change it). */
const STATUS_EVENTS: readonly DaemonEventType[] = [
  'instrument.state',
  'instrument.added',
  'instrument.removed',
  'module.added',
  'module.removed',
  'module.state',
  'module.alarm',
  'module.interlock',
  'config.reloaded',
  'config.reloadFailed',
  'config.persistFailed',
  'command.applied',
];

export interface StatusSink {
  send(fields: Record<string, string>): Promise<boolean>;
}

/**
 * Keeps systemd's STATUS= current: after a state-changing event (coalesced over `delayMs`) the line
 * is rebuilt and sent when it changed. Cheap: one helper run per change, never per reading.
 */
export class StatusReporter {
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private stopped = false;
  private readonly off: () => void;

  /**
   * `onError`: told when building the line threw. The line is rebuilt in a timer, where a throw
   * would end the process: a status line must never take the daemon down, so the last line stands
   * and the next event tries again.
   */
  constructor(
    private readonly sink: StatusSink,
    private readonly build: () => string,
    events: Pick<EventBus, 'subscribe'>,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 250,
  ) {
    this.off = events.subscribe(() => this.schedule(), { types: STATUS_EVENTS, owner: 'systemd status line' });
  }

  /** The line now (also remembered as sent: the caller sends it, e.g. with READY=1); the last one if it cannot be built. */
  current(): string {
    this.last = this.tryBuild() ?? this.last;
    return this.last;
  }

  private tryBuild(): string | undefined {
    try {
      return this.build();
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      const line = this.tryBuild();
      if (line === undefined || line === this.last) return;
      this.last = line;
      void this.sink.send({ STATUS: line });
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.off();
  }
}
