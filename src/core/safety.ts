/**
 * The safety lane (issue #15). An interlock's action is not a config change: it never goes
 * through the command queue or the config file, so it cannot be refused because the file is
 * broken, missing or unwritable, it is never persisted (a trip is runtime state), and it never
 * waits behind another instrument. It goes to the actuator's own lane as urgent traffic: the
 * operation in flight is aborted, queued sets fail with `aborted`, and the safe value is written
 * next and confirmed by read-back.
 *
 * A hold keeps the guarded parameter safe against people: while an interlock holds it, any set of
 * it to another value (socket, file reload, module, later schedules) is refused with kind `unsafe`
 * before a byte is sent.
 */
import type { ParamValue } from '../drivers/types.js';
import { DaqError } from '../errors.js';
import type { SafetyLane } from '../modules/types.js';

export interface Hold {
  instrument: string;
  param: string;
  value: ParamValue;
  holder: string;
  tolerance?: number;
}

/** The urgent write path the lane needs from the instrument supervisor. */
export interface UrgentWriter {
  enforce(instrument: string, params: Record<string, ParamValue>, why: string): Promise<Record<string, ParamValue>>;
}

function allows(hold: Hold, value: ParamValue): boolean {
  if (typeof hold.value === 'number' && typeof value === 'number') return Math.abs(value - hold.value) <= (hold.tolerance ?? 0);
  return value === hold.value;
}

function show(value: ParamValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export class SafetyHolds implements SafetyLane {
  /** instrument -> param -> holds (several interlocks may guard one parameter). */
  private readonly holds = new Map<string, Map<string, Hold[]>>();
  /** Counts changes of the holds: a view made at one version shows the holds of any moment at that version. */
  private changes = 0;

  constructor(private readonly writer: UrgentWriter) {}

  enforce(instrument: string, param: string, value: ParamValue, holder: string): Promise<ParamValue> {
    return this.writer.enforce(instrument, { [param]: value }, `${holder} is setting ${param} = ${show(value)}`).then((confirmed) => confirmed[param] ?? value);
  }

  hold(instrument: string, param: string, value: ParamValue, holder: string, tolerance?: number): void {
    let params = this.holds.get(instrument);
    if (!params) this.holds.set(instrument, (params = new Map()));
    const list = (params.get(param) ?? []).filter((h) => h.holder !== holder);
    list.push({ instrument, param, value, holder, ...(tolerance !== undefined ? { tolerance } : {}) });
    params.set(param, list);
    this.changes++;
  }

  release(holder: string): void {
    this.changes++;
    for (const [instrument, params] of this.holds) {
      for (const [param, list] of params) {
        const kept = list.filter((h) => h.holder !== holder);
        if (kept.length > 0) params.set(param, kept);
        else params.delete(param);
      }
      if (params.size === 0) this.holds.delete(instrument);
    }
  }

  /** Changes so far (instrument.get reuses its last answer while this and the rest it shows stay put). */
  get version(): number {
    return this.changes;
  }

  /** Holds on one instrument (instrument.get, status). */
  holdsOn(instrument: string): Hold[] {
    return [...(this.holds.get(instrument)?.values() ?? [])].flat();
  }

  all(): Hold[] {
    return [...this.holds.keys()].flatMap((id) => this.holdsOn(id));
  }

  /**
   * Throws `unsafe` if a hold forbids any of these values. Called before anything is sent, for
   * every set that is not the safety lane's own.
   */
  check(instrument: string, params: Readonly<Record<string, ParamValue>>): void {
    const held = this.holds.get(instrument);
    if (!held) return;
    for (const name of Object.keys(params)) {
      for (const hold of held.get(name) ?? []) {
        const value = params[name]!;
        if (allows(hold, value)) continue;
        const who = hold.holder.startsWith('module:') ? `interlock ${hold.holder.slice('module:'.length)}` : hold.holder;
        throw new DaqError(
          'unsafe',
          `${instrument}.${name} is held at ${show(hold.value)} by ${who} (tripped); ${show(value)} was not sent. Fix the cause, reset the interlock (daqctl module reset ${hold.holder.replace(/^module:/, '')}), then set it again`,
          { details: { instrument, param: name, value, heldAt: hold.value, holder: hold.holder } },
        );
      }
    }
  }
}
