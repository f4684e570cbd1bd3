import { DaqError } from '../../errors.js';
import { frameText, lineReply } from '../../transport/framing.js';
import type { DriverContext, DriverInstance, ParamValue, Readings, ReadingsMeta } from '../types.js';
import { abortedError, pause } from '../common/abort.js';
import { setpointsToRestore } from '../common/kinds.js';
import {
  DEFAULT_UNIT,
  TERMINATOR,
  formatErrorReport,
  formatSetValue,
  parseErrorReport,
  parseNumber,
  unitFromCode,
  type ErrorReport,
} from './protocol.js';
import type { Esp300Options } from './options.js';
import { esp300Params } from './params.js';

const CRLF_LINE = lineReply(TERMINATOR);
/** How often `MD?` is asked while waiting for a move: ~2% of the line at 19200 baud. */
const MOTION_POLL_INTERVAL_MS = 20;
/** The controller's FIFO holds at most 10 errors. */
const MAX_QUEUED_ERRORS = 10;
/** After a stop, how long the axis may take to come to rest (it decelerates at its AC) beyond v/a. */
const STOP_MARGIN_MS = 2000;

type AxisParam = 'position' | 'velocity' | 'acceleration';

export function parseAxisParam(name: string): { axis: number; param: AxisParam } | undefined {
  const match = /^axis(\d)_(position|velocity|acceleration)$/.exec(name);
  if (!match) return undefined;
  return { axis: Number(match[1]), param: match[2] as AxisParam };
}

const MNEMONIC: Readonly<Record<AxisParam, string>> = { position: 'TP', velocity: 'VA', acceleration: 'AC' };

export class Esp300Instrument implements DriverInstance {
  private readonly axes: readonly number[];
  /** Displacement unit of each axis as the controller reports it (SN?), e.g. "mm", "deg". */
  private readonly units = new Map<number, string>();
  /** Readings whose unit is not the declared one (a rotary stage in degrees); built at init. */
  private meta: ReadingsMeta = {};
  /** Moves in progress; abort() marks them so each fails as 'aborted', not as "stopped short". */
  private readonly moves = new Set<{ aborted: boolean }>();

  constructor(private readonly ctx: DriverContext<Esp300Options>) {
    this.axes = ctx.config.options.axes;
  }

  private get id(): string {
    return this.ctx.config.id;
  }

  /**
   * Identifies the controller, turns the motors on (so the stages hold position and accept moves;
   * this moves nothing) and restores the setpoints it is given: velocities and accelerations.
   * Positions are actions: a (re)connect never moves a stage.
   */
  async init(): Promise<void> {
    const version = await this.query('VE?');
    if (!/ESP\s*300/i.test(version)) {
      throw new DaqError(
        'protocol_error',
        `${this.id}: the device on this port does not identify as an ESP300 (VE? replied "${version}")`,
        { details: { raw: version } },
      );
    }
    // Errors left from before we connected would be blamed on our first command.
    await this.drainErrors('cleared errors queued on the controller before connect');
    for (const axis of this.axes) await this.send(`${axis}MO`);
    await this.throwIfErrors('turning the motors on (MO)');
    await this.readUnits();
    const decls = this.axes.flatMap(esp300Params);
    for (const [name, value] of setpointsToRestore(decls, this.ctx.config.params)) await this.setParam(name, value);
  }

  async poll(): Promise<Readings> {
    const readings: Readings = {};
    for (const axis of this.axes) {
      readings[`axis${axis}_position`] = await this.queryNumber(`${axis}TP?`);
      readings[`axis${axis}_moving`] = (await this.queryMotionDone(axis)) === false;
    }
    return readings;
  }

  readingsMeta(): ReadingsMeta {
    return this.meta;
  }

  /**
   * Always sends the command, even for the value the controller already holds. A position set is
   * a move: it resolves when the axis has arrived, and rejects with 'aborted' (saying where the
   * axis stopped) once `signal` fires, after stopping the axis.
   */
  async setParam(name: string, value: ParamValue, signal?: AbortSignal): Promise<ParamValue> {
    const target = this.axisParam(name);
    if (!target || typeof value !== 'number') {
      throw new DaqError('not_found', `${this.id}: esp300 has no parameter '${name}'`);
    }
    const { axis, param } = target;
    if (param === 'position') return this.moveTo(axis, value, signal);
    const mnemonic = MNEMONIC[param];
    await this.send(`${axis}${mnemonic}${formatSetValue(value)}`);
    await this.throwIfErrors(`setting ${name} to ${value}`);
    return this.queryNumber(`${axis}${mnemonic}?`);
  }

  /** TP?, VA?, AC? for the named parameters of the configured axes; other names are left out. */
  async readParams(names: readonly string[]): Promise<Record<string, ParamValue>> {
    const out: Record<string, ParamValue> = {};
    for (const name of names) {
      const target = this.axisParam(name);
      if (target) out[name] = await this.queryNumber(`${target.axis}${MNEMONIC[target.param]}?`);
    }
    return out;
  }

  /**
   * Stops every configured axis (`<axis>ST`), ahead of anything queued on the link. Stopping an
   * idle axis does nothing, and a move the driver did not start (front panel) stops too.
   */
  async abort(): Promise<void> {
    for (const move of this.moves) move.aborted = true;
    await Promise.all(this.axes.map((axis) => this.send(`${axis}ST`, true)));
  }

  async close(): Promise<void> {
    for (const axis of this.axes) {
      try {
        await this.send(`${axis}ST`, true);
      } catch (err) {
        this.ctx.log.warn({ err, axis }, 'could not stop axis while closing');
      }
    }
  }

  /**
   * An absolute move completes when the controller reports motion done; the wait is bounded by
   * the time the move should take at the axis's velocity plus a margin, then the axis is stopped.
   * The signal is checked between exchanges: an abort stops the axis and says where it stopped.
   */
  private async moveTo(axis: number, target: number, signal?: AbortSignal): Promise<number> {
    const state = { aborted: false };
    this.moves.add(state);
    try {
      return await this.runMove(axis, target, () => state.aborted || signal?.aborted === true, signal);
    } finally {
      this.moves.delete(state);
    }
  }

  private async runMove(axis: number, target: number, aborted: () => boolean, signal?: AbortSignal): Promise<number> {
    const name = `axis${axis}_position`;
    const unit = this.unitOf(axis);
    const move = `move of axis ${axis} to ${target} ${unit}`;
    if (aborted()) throw abortedError(`${this.id}: ${move} aborted before it started`, { axis, target });
    // The move goes out first: a safety move (an interlock driving a beam block) must reach the
    // wire within one exchange, not after three queries. The time budget is worked out from where
    // the axis is just after the command, which is where it started to within one exchange.
    // With the signal, a PA still queued when the abort comes is never written.
    await this.ctx.link.request({ write: `${axis}PA${formatSetValue(target)}${TERMINATOR}`, label: `${axis}PA`, ...(signal ? { signal } : {}) });
    await this.throwIfErrors(`moving axis ${axis} to ${target} (${name})`);
    const start = await this.queryNumber(`${axis}TP?`);
    const velocity = await this.queryNumber(`${axis}VA?`);
    const acceleration = await this.queryNumber(`${axis}AC?`);

    const expectedS = Math.abs(target - start) / velocity + (acceleration > 0 ? velocity / acceleration : 0);
    const budgetMs = (expectedS * this.ctx.config.options.move_timeout_factor + this.ctx.config.options.move_timeout_margin_s) * 1000;
    const deadline = Date.now() + budgetMs;
    for (;;) {
      if (aborted()) throw await this.stopAborted(axis, move, velocity, acceleration);
      if (await this.queryMotionDone(axis)) break;
      if (Date.now() > deadline) {
        await this.send(`${axis}ST`, true).catch(() => {});
        throw new DaqError(
          'timeout',
          `${this.id}: axis ${axis} was still moving ${Math.round(budgetMs)} ms after the move to ${target} began (expected about ${expectedS.toFixed(2)} s); the axis was stopped`,
          { details: { axis, target, start, velocity, budgetMs } },
        );
      }
      await pause(MOTION_POLL_INTERVAL_MS, signal);
    }
    // Aborted as it arrived: the caller asked to stop, so the set is not reported as done.
    if (aborted()) throw await this.stopAborted(axis, move, velocity, acceleration);
    await this.throwIfErrors(`moving axis ${axis} to ${target} (${name})`);
    const reached = await this.queryNumber(`${axis}TP?`);
    const tolerance = this.ctx.config.options.position_tolerance;
    if (Math.abs(reached - target) > tolerance) {
      throw new DaqError(
        'device_error',
        `${this.id}: axis ${axis} stopped at ${reached}, not at the target ${target} (tolerance ${tolerance})`,
        { details: { axis, target, reached } },
      );
    }
    return reached;
  }

  /**
   * Stops the axis (urgent: ahead of anything queued), waits until it is at rest, and returns the
   * 'aborted' error naming where it stopped. abort() may have sent ST already; a second is harmless
   * and covers a caller that only fired the signal.
   */
  private async stopAborted(axis: number, move: string, velocity: number, acceleration: number): Promise<DaqError> {
    await this.send(`${axis}ST`, true);
    const restMs = (acceleration > 0 ? (velocity / acceleration) * 1000 : 0) + STOP_MARGIN_MS;
    const deadline = Date.now() + restMs;
    while (!(await this.queryMotionDone(axis)) && Date.now() < deadline) await pause(MOTION_POLL_INTERVAL_MS);
    // A stop can leave an error in the FIFO on some firmware; it belongs to this move, not the next set.
    await this.drainErrors(`cleared errors queued during the aborted move of axis ${axis}`);
    const at = await this.queryNumber(`${axis}TP?`);
    return abortedError(`${this.id}: ${move} aborted at ${at} ${this.unitOf(axis)}`, { axis, stoppedAt: at });
  }

  private axisParam(name: string): { axis: number; param: AxisParam } | undefined {
    const target = parseAxisParam(name);
    return target && this.axes.includes(target.axis) ? target : undefined;
  }

  /** SN? per axis: the unit positions are in. A code we do not know keeps the declared unit. */
  private async readUnits(): Promise<void> {
    const units: Record<string, string> = {};
    for (const axis of this.axes) {
      const code = await this.queryNumber(`${axis}SN?`);
      const unit = unitFromCode(code);
      if (unit === undefined) this.ctx.log.warn({ axis, code }, 'unknown displacement unit code from SN?; positions shown in the declared unit');
      this.units.set(axis, unit ?? DEFAULT_UNIT);
      if (unit !== undefined && unit !== DEFAULT_UNIT) units[`axis${axis}_position`] = unit;
    }
    this.meta = Object.keys(units).length > 0 ? { units } : {};
  }

  private unitOf(axis: number): string {
    return this.units.get(axis) ?? DEFAULT_UNIT;
  }

  private async queryMotionDone(axis: number): Promise<boolean> {
    const raw = await this.query(`${axis}MD?`);
    if (raw.trim() === '1') return true;
    if (raw.trim() === '0') return false;
    throw this.unparsable(`${axis}MD?`, raw, 'expected 0 or 1');
  }

  /** `urgent`: stop traffic, ahead of everything queued on the link. */
  private async send(command: string, urgent = false): Promise<void> {
    await this.ctx.link.request({ write: command + TERMINATOR, label: command, urgent });
  }

  private async query(command: string): Promise<string> {
    const frame = await this.ctx.link.request({ write: command + TERMINATOR, reply: CRLF_LINE, label: command });
    return frameText(frame);
  }

  private async queryNumber(command: string): Promise<number> {
    const raw = await this.query(command);
    const value = parseNumber(raw);
    if (value === undefined) throw this.unparsable(command, raw, 'expected a number');
    return value;
  }

  private unparsable(command: string, raw: string, expected: string): DaqError {
    return new DaqError(
      'protocol_error',
      `${this.id}: unexpected reply to ${command}: ${JSON.stringify(raw)} (${expected})`,
      { details: { command, raw } },
    );
  }

  private async readErrors(): Promise<ErrorReport[]> {
    const errors: ErrorReport[] = [];
    for (let i = 0; i < MAX_QUEUED_ERRORS; i++) {
      const raw = await this.query('TB?');
      const report = parseErrorReport(raw);
      if (!report) throw this.unparsable('TB?', raw, 'expected "code, timestamp, message"');
      if (report.code === 0) break;
      errors.push(report);
    }
    return errors;
  }

  private async drainErrors(why: string): Promise<void> {
    const stale = await this.readErrors();
    if (stale.length > 0) this.ctx.log.info({ errors: stale }, why);
  }

  /** The ESP300 does not answer set commands; refusals are only visible in its error FIFO. */
  private async throwIfErrors(action: string): Promise<void> {
    const errors = await this.readErrors();
    if (errors.length === 0) return;
    const text = errors.map((e) => `${e.message} (error ${e.code})`).join('; ');
    throw new DaqError('device_error', `${this.id}: the ESP300 refused ${action}: ${text}`, {
      details: { errors: errors.map((e) => ({ code: e.code, message: e.message, raw: formatErrorReport(e) })) },
    });
  }
}
