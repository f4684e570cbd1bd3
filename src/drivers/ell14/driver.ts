import { DaqError } from '../../errors.js';
import { frameText, lineReply } from '../../transport/framing.js';
import type { DriverContext, DriverInstance, ParamValue, Readings } from '../types.js';
import { abortedError, whileListening } from '../common/abort.js';
import {
  ELL14_MOTOR_TYPE,
  ELL14_PULSES_PER_REV,
  REPLY_TERMINATOR,
  decodePulses,
  encodePulses,
  parseInfo,
  parseReply,
  statusMessage,
  type Reply,
} from './protocol.js';
import type { Ell14Options } from './options.js';

const CRLF_LINE = lineReply(REPLY_TERMINATOR);
/** Rotary Elliptec modules that report degrees: ELL14 (0x0E), ELL18 (0x12). */
const ROTARY_TYPES = new Set([ELL14_MOTOR_TYPE, 0x12]);

/** A move on its way: whether `st` has been interjected for it yet (once is enough). */
interface Move {
  stopSent: boolean;
  stopping?: Promise<void>;
}

export class Ell14Instrument implements DriverInstance {
  private pulsesPerRev = ELL14_PULSES_PER_REV;
  private readonly address: string;
  private move: Move | undefined;

  constructor(private readonly ctx: DriverContext<Ell14Options>) {
    this.address = ctx.config.options.address;
  }

  private get id(): string {
    return this.ctx.config.id;
  }

  async init(): Promise<void> {
    const reply = await this.ask('in', 'IN');
    const info = parseInfo(reply.payload);
    if (!info) throw this.unparsable('in', `${reply.address}${reply.code}${reply.payload}`, 'a 30-character device info block');
    if (!ROTARY_TYPES.has(info.motorType)) {
      throw new DaqError(
        'protocol_error',
        `${this.id}: the module at address ${this.address} is an ELL${info.motorType}, not a rotation mount (ELL14)`,
        { details: { motorType: info.motorType } },
      );
    }
    // The mount states its own scale; trust it over the datasheet when it is sane.
    if (info.pulsesPerUnit > 0) this.pulsesPerRev = info.pulsesPerUnit;
    // The angle is an action: a (re)connect never turns the mount (this driver has no setpoints).
  }

  async poll(): Promise<Readings> {
    return { position_deg: await this.readPosition() };
  }

  /**
   * Always sends the move, even to the angle the mount is at. The mount answers a move only when
   * it has stopped: PO with the position, or GS on a fault. Once `signal` fires, `st` is
   * interjected (the `ma` exchange keeps the bus meanwhile), the mount stops and answers the `ma`,
   * and the set rejects with 'aborted' saying where it stopped.
   */
  async setParam(name: string, value: ParamValue, signal?: AbortSignal): Promise<ParamValue> {
    if (name !== 'position_deg' || typeof value !== 'number') {
      throw new DaqError('not_found', `${this.id}: ell14 has no parameter '${name}'`);
    }
    const what = `move to ${value} deg`;
    if (signal?.aborted) throw abortedError(`${this.id}: ${what} aborted before it started`, { target: value });
    const pulses = Math.round((value * this.pulsesPerRev) / 360);
    const move: Move = { stopSent: false };
    this.move = move;
    let reply: Reply;
    try {
      reply = await whileListening(signal, () => void this.stop(move), () =>
        this.ask(`ma${encodePulses(pulses)}`, 'PO', this.ctx.config.options.move_timeout_ms, move, signal),
      );
    } finally {
      if (this.move === move) this.move = undefined;
    }
    if (move.stopSent || signal?.aborted) {
      await move.stopping?.catch(() => {});
      // Some firmware answers the interrupted move with GS00 instead of PO: then ask where it is.
      const at = reply.code === 'PO' ? this.toDegrees(reply) : await this.readPosition();
      throw abortedError(`${this.id}: ${what} aborted at ${at.toFixed(3)} deg`, { target: value, stoppedAt: at });
    }
    const reached = this.toDegrees(reply);
    const off = Math.abs(((((reached - value) % 360) + 540) % 360) - 180);
    if (off > this.ctx.config.options.position_tolerance_deg) {
      throw new DaqError('device_error', `${this.id}: the mount stopped at ${reached.toFixed(3)} deg, not at ${value} deg`, {
        details: { target: value, reached },
      });
    }
    return reached;
  }

  /** `gp` for position_deg; other names are left out. */
  async readParams(names: readonly string[]): Promise<Record<string, ParamValue>> {
    return names.includes('position_deg') ? { position_deg: await this.readPosition() } : {};
  }

  /**
   * Stops the move in flight: `<address>st`, interjected while the `ma` exchange waits for its
   * reply. An idle mount has nothing to stop and is not sent anything.
   */
  async abort(): Promise<void> {
    if (this.move) await this.stop(this.move);
  }

  private stop(move: Move): Promise<void> {
    if (!move.stopSent) {
      move.stopSent = true;
      const write = `${this.address}st`;
      move.stopping = this.ctx.link.request({ write, label: write, interject: true }).then(() => undefined);
      move.stopping.catch((err) => this.ctx.log.warn({ err }, 'could not send st to stop the move'));
    }
    return move.stopping!;
  }

  private async readPosition(): Promise<number> {
    return this.toDegrees(await this.ask('gp', 'PO'));
  }

  private toDegrees(reply: Reply): number {
    const pulses = decodePulses(reply.payload);
    if (pulses === undefined) throw this.unparsable('gp', `${reply.address}${reply.code}${reply.payload}`, '8 hex digits of position');
    return (pulses * 360) / this.pulsesPerRev;
  }

  /**
   * Sends `<address><command>` and returns the reply with the `expected` code. A GS reply with a
   * non-zero status is the device reporting a fault and becomes a device_error. For a move we
   * sent `st` for (`stopped`), GS00 is the mount saying it stopped, and is returned.
   */
  private async ask(command: string, expected: string, timeoutMs?: number, stopped?: Move, signal?: AbortSignal): Promise<Reply> {
    const write = `${this.address}${command}`;
    const frame = await this.ctx.link.request({ write, reply: CRLF_LINE, label: write, timeoutMs, ...(signal ? { signal } : {}) });
    const raw = frameText(frame);
    const reply = parseReply(raw);
    if (!reply || reply.address !== this.address) {
      throw this.unparsable(write, raw, `a reply from address ${this.address}`);
    }
    if (reply.code === expected) return reply;
    if (reply.code === 'GS') {
      const code = parseInt(reply.payload, 16);
      if (Number.isNaN(code) || reply.payload.length !== 2) throw this.unparsable(write, raw, 'a 2-digit status');
      if (code === 0 && stopped?.stopSent) return reply; // "stopped, no error": the answer to our st
      throw new DaqError(
        'device_error',
        `${this.id}: the mount at address ${this.address} reported status ${code} (${statusMessage(code)}) to ${write}`,
        { details: { command: write, raw, status: code, statusMessage: statusMessage(code) } },
      );
    }
    throw this.unparsable(write, raw, `a ${expected} reply`);
  }

  private unparsable(command: string, raw: string, expected: string): DaqError {
    return new DaqError('protocol_error', `${this.id}: unexpected reply to ${command}: ${JSON.stringify(raw)} (expected ${expected})`, {
      details: { command, raw },
    });
  }
}
