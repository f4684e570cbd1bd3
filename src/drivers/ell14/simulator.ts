import type { DeviceSimulator } from '../types.js';
import {
  ELL14_MOTOR_TYPE,
  ELL14_PULSES_PER_REV,
  HOST_PAYLOAD_LENGTH,
  REPLY_TERMINATOR,
  decodePulses,
  encodePulses,
  formatInfo,
} from './protocol.js';
import { keepRecent, pushRecent } from '../common/recent.js';

/** What the simulated mount does with a request: answer, stay silent, or answer with noise. */
export type SimFault = 'none' | 'silent' | 'garbage';

export interface Ell14SimulatorOptions {
  /** Bus address, '0'..'F'. */
  address?: string;
  /** Rotation speed in degrees per second (a full turn takes about 1.5 s on the real mount). */
  speedDegPerS?: number;
  /** Test hook: simulated time runs this many times faster than the wall clock. */
  timeScale?: number;
  /** Test hook: moves complete at once. */
  instantMoves?: boolean;
  serial?: string;
  /**
   * How a stopped move is answered: 'position' (default: `PO` with where it stopped, the reply the
   * waiting `ma` gets) or 'status' (`GS00`, as some firmware may do; see protocol.ts).
   */
  stopReply?: 'position' | 'status';
}

/**
 * The device drops a half-received command after this much silence, like the real module's
 * communication time-out, so a truncated command cannot wedge the parser.
 */
const PARTIAL_COMMAND_TIMEOUT_MS = 250;

/**
 * Simulated ELL14 rotation mount on an RS-485 bus. It sees every byte on the bus, keeps in step
 * with every frame (for any address), and answers only frames carrying its own address.
 */
export class Ell14Simulator implements DeviceSimulator {
  fault: SimFault = 'none';
  /** Test hook: the next move fails with this GS status (e.g. 2 = mechanical time out). */
  failNextMoveWith: number | undefined;
  /** Test hook: status reported by `gs` while idle. */
  idleStatus = 0;
  /** Every frame addressed to this device, for tests. */
  readonly received: string[] = [];
  keepReceived(limit: number): void {
    keepRecent(this.received, limit);
  }

  readonly address: string;
  private positionPulses = 0;
  /** The move in progress: constant speed from `from` to `to`, started at `startedAt` (ms). */
  private motion: { from: number; to: number; startedAt: number; durationMs: number; timer: NodeJS.Timeout } | undefined;
  private readonly speedDegPerS: number;
  private readonly timeScale: number;
  private readonly instantMoves: boolean;
  private readonly serial: string;
  private readonly stopReply: 'position' | 'status';
  private listener: (data: Buffer) => void = () => {};
  private pending = '';
  private partialTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();

  constructor(options: Ell14SimulatorOptions = {}) {
    this.address = (options.address ?? '0').toUpperCase();
    this.speedDegPerS = options.speedDegPerS ?? 240;
    this.timeScale = options.timeScale ?? 1;
    this.instantMoves = options.instantMoves ?? false;
    this.serial = options.serial ?? `1140${this.address.charCodeAt(0).toString().padStart(4, '0')}`;
    this.stopReply = options.stopReply ?? 'position';
  }

  /** The angle right now (part way along a running move). */
  get positionDeg(): number {
    return (this.currentPulses() * 360) / ELL14_PULSES_PER_REV;
  }

  /** Test hook: bytes of an incomplete command are waiting for the rest. */
  get hasPartialCommand(): boolean {
    return this.pending !== '';
  }

  get isMoving(): boolean {
    return this.motion !== undefined;
  }

  /** Test hook: someone turned the mount behind the host's back (e.g. the jog buttons). */
  frontPanelMoveTo(degrees: number): void {
    this.positionPulses = Math.round((degrees * ELL14_PULSES_PER_REV) / 360) | 0;
  }

  onSend(listener: (data: Buffer) => void): void {
    this.listener = listener;
  }

  receive(data: Buffer): void {
    this.pending += data.toString('latin1');
    this.parse();
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    if (this.pending !== '') {
      this.partialTimer = setTimeout(() => {
        this.pending = '';
        this.partialTimer = undefined;
      }, PARTIAL_COMMAND_TIMEOUT_MS);
    }
  }

  dispose(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    for (const timer of this.timers) clearTimeout(timer);
    for (const immediate of this.immediates) clearImmediate(immediate);
    this.timers.clear();
    this.immediates.clear();
  }

  private parse(): void {
    for (;;) {
      // Resynchronise on anything that cannot start a frame (e.g. line noise).
      const start = this.pending.search(/[0-9A-F]/);
      if (start < 0) return void (this.pending = '');
      this.pending = this.pending.slice(start);
      if (this.pending.length < 3) return;
      const address = this.pending[0]!;
      const command = this.pending.slice(1, 3);
      const payloadLength = HOST_PAYLOAD_LENGTH[command];
      if (payloadLength === undefined) {
        // Unknown command: its length is unknowable, so the rest of the burst is dropped.
        this.pending = '';
        if (address === this.address) this.reply('GS03');
        return;
      }
      if (this.pending.length < 3 + payloadLength) return;
      const payload = this.pending.slice(3, 3 + payloadLength);
      this.pending = this.pending.slice(3 + payloadLength);
      if (address === this.address) this.handle(command, payload);
    }
  }

  private handle(command: string, payload: string): void {
    pushRecent(this.received, `${this.address}${command}${payload}`);
    switch (command) {
      case 'in':
        return this.reply(
          'IN' +
            formatInfo({
              motorType: ELL14_MOTOR_TYPE,
              serial: this.serial,
              year: '2023',
              firmware: '17',
              hardware: '01',
              travel: 360,
              pulsesPerUnit: ELL14_PULSES_PER_REV,
            }),
        );
      case 'gs':
        return this.reply(`GS${(this.motion ? 9 : this.idleStatus).toString(16).toUpperCase().padStart(2, '0')}`);
      case 'gp':
        return this.reply(`PO${encodePulses(this.currentPulses())}`);
      case 'st':
        return this.stop();
      case 'ma':
      case 'mr': {
        const value = decodePulses(payload);
        if (value === undefined) return this.reply('GS04');
        const target = command === 'ma' ? value : (this.positionPulses + value) | 0;
        return this.move(target);
      }
      case 'ho':
        return this.move(0);
    }
  }

  private move(target: number): void {
    if (this.motion) return this.reply('GS09');
    const failure = this.failNextMoveWith;
    this.failNextMoveWith = undefined;
    const from = this.positionPulses;
    const degrees = (Math.abs(target - from) * 360) / ELL14_PULSES_PER_REV;
    const durationMs = this.instantMoves ? 0 : (degrees / this.speedDegPerS) * 1000 / this.timeScale;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.motion = undefined;
      if (failure !== undefined) {
        // A stalled move stops part way and reports the fault instead of a position.
        this.positionPulses = Math.round((from + target) / 2) | 0;
        return this.reply(`GS${failure.toString(16).toUpperCase().padStart(2, '0')}`);
      }
      this.positionPulses = target;
      this.reply(`PO${encodePulses(target)}`);
    }, durationMs);
    this.timers.add(timer);
    this.motion = { from, to: target, startedAt: performance.now(), durationMs, timer };
  }

  /** `st`: a running move stops where it is and answers with that position; idle: GS00. */
  private stop(): void {
    const motion = this.motion;
    if (!motion) return this.reply('GS00');
    clearTimeout(motion.timer);
    this.timers.delete(motion.timer);
    this.positionPulses = this.currentPulses();
    this.motion = undefined;
    this.reply(this.stopReply === 'status' ? 'GS00' : `PO${encodePulses(this.positionPulses)}`);
  }

  /** Where the rotor is now: part way along a running move, else where it stands. */
  private currentPulses(): number {
    const m = this.motion;
    if (!m) return this.positionPulses;
    const done = m.durationMs <= 0 ? 1 : Math.min(1, (performance.now() - m.startedAt) / m.durationMs);
    return Math.round(m.from + (m.to - m.from) * done) | 0;
  }

  private reply(body: string): void {
    if (this.fault === 'silent') return;
    const text = this.fault === 'garbage' ? `${this.address}#\u00ff!` : `${this.address}${body}`;
    const immediate = setImmediate(() => {
      this.immediates.delete(immediate);
      this.listener(Buffer.from(text + REPLY_TERMINATOR, 'latin1'));
    });
    this.immediates.add(immediate);
  }
}
