import { DaqError } from '../../errors.js';
import { frameText, lineReply } from '../../transport/framing.js';
import type { DriverContext, DriverInstance, ParamValue, Readings } from '../types.js';
import { TERMINATOR, formatErrorReport, formatSetValue, parseErrorReport, parseNumber, type ErrorReport } from './protocol.js';
import type { Esp300Options } from './options.js';

const CRLF_LINE = lineReply(TERMINATOR);
/** How often `MD?` is asked while waiting for a move: ~2% of the line at 19200 baud. */
const MOTION_POLL_INTERVAL_MS = 20;
/** The controller's FIFO holds at most 10 errors. */
const MAX_QUEUED_ERRORS = 10;

type AxisParam = 'position' | 'velocity' | 'acceleration';

export function parseAxisParam(name: string): { axis: number; param: AxisParam } | undefined {
  const match = /^axis(\d)_(position|velocity|acceleration)$/.exec(name);
  if (!match) return undefined;
  return { axis: Number(match[1]), param: match[2] as AxisParam };
}

export class Esp300Instrument implements DriverInstance {
  private readonly axes: readonly number[];

  constructor(private readonly ctx: DriverContext<Esp300Options>) {
    this.axes = ctx.config.options.axes;
  }

  private get id(): string {
    return this.ctx.config.id;
  }

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
    await this.drainErrors();
    for (const axis of this.axes) await this.send(`${axis}MO`);
    await this.throwIfErrors('turning the motors on (MO)');

    // The config is the source of truth after a (re)connect: speeds first, so moves use them.
    const params = this.ctx.config.params;
    const order: AxisParam[] = ['velocity', 'acceleration', 'position'];
    for (const param of order) {
      for (const axis of this.axes) {
        const name = `axis${axis}_${param}`;
        const value = params[name];
        if (value !== undefined) await this.setParam(name, value);
      }
    }
  }

  async poll(): Promise<Readings> {
    const readings: Readings = {};
    for (const axis of this.axes) {
      readings[`axis${axis}_position`] = await this.queryNumber(`${axis}TP?`);
      readings[`axis${axis}_moving`] = (await this.queryMotionDone(axis)) === false;
    }
    return readings;
  }

  async setParam(name: string, value: ParamValue): Promise<ParamValue> {
    const target = parseAxisParam(name);
    if (!target || !this.axes.includes(target.axis) || typeof value !== 'number') {
      throw new DaqError('not_found', `${this.id}: esp300 has no parameter '${name}'`);
    }
    const { axis, param } = target;
    if (param === 'position') return this.moveTo(axis, value);
    const mnemonic = param === 'velocity' ? 'VA' : 'AC';
    await this.send(`${axis}${mnemonic}${formatSetValue(value)}`);
    await this.throwIfErrors(`setting ${name} to ${value}`);
    return this.queryNumber(`${axis}${mnemonic}?`);
  }

  async close(): Promise<void> {
    for (const axis of this.axes) {
      try {
        await this.send(`${axis}ST`);
      } catch (err) {
        this.ctx.log.warn({ err, axis }, 'could not stop axis while closing');
      }
    }
  }

  /**
   * An absolute move completes when the controller reports motion done; the wait is bounded by
   * the time the move should take at the axis's velocity plus a margin, then the axis is stopped.
   */
  private async moveTo(axis: number, target: number): Promise<number> {
    const name = `axis${axis}_position`;
    const start = await this.queryNumber(`${axis}TP?`);
    const velocity = await this.queryNumber(`${axis}VA?`);
    const acceleration = await this.queryNumber(`${axis}AC?`);
    await this.send(`${axis}PA${formatSetValue(target)}`);
    await this.throwIfErrors(`moving axis ${axis} to ${target} (${name})`);

    const expectedS = Math.abs(target - start) / velocity + (acceleration > 0 ? velocity / acceleration : 0);
    const budgetMs = (expectedS * this.ctx.config.options.move_timeout_factor + this.ctx.config.options.move_timeout_margin_s) * 1000;
    const deadline = Date.now() + budgetMs;
    while (!(await this.queryMotionDone(axis))) {
      if (Date.now() > deadline) {
        await this.send(`${axis}ST`).catch(() => {});
        throw new DaqError(
          'timeout',
          `${this.id}: axis ${axis} was still moving ${Math.round(budgetMs)} ms after the move to ${target} began (expected about ${expectedS.toFixed(2)} s); the axis was stopped`,
          { details: { axis, target, start, velocity, budgetMs } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, MOTION_POLL_INTERVAL_MS));
    }
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

  private async queryMotionDone(axis: number): Promise<boolean> {
    const raw = await this.query(`${axis}MD?`);
    if (raw.trim() === '1') return true;
    if (raw.trim() === '0') return false;
    throw this.unparsable(`${axis}MD?`, raw, 'expected 0 or 1');
  }

  private async send(command: string): Promise<void> {
    await this.ctx.link.request({ write: command + TERMINATOR, label: command });
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

  private async drainErrors(): Promise<void> {
    const stale = await this.readErrors();
    if (stale.length > 0) this.ctx.log.info({ errors: stale }, 'cleared errors queued on the controller before connect');
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
