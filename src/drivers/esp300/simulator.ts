import type { DeviceSimulator } from '../types.js';
import {
  DEFAULT_UNIT_CODE,
  TERMINATOR,
  VERSION_STRING,
  errorMessage,
  formatErrorReport,
  formatNumber,
  parseNumber,
  type ErrorReport,
} from './protocol.js';
import { keepRecent, pushRecent } from '../common/recent.js';

export interface Esp300SimulatorOptions {
  /** Axes with a stage attached (1..3). */
  axes?: readonly number[];
  /** Test hook: simulated time runs this many times faster than the wall clock. */
  timeScale?: number;
  /** Test hook: every move completes the moment it is commanded. */
  instantMoves?: boolean;
  /** Stage limits as the controller enforces them (VU, AU, SL/SR). */
  maxVelocity?: number;
  maxAcceleration?: number;
  travel?: number;
}

/** What the simulated device does with a request: answer, stay silent, or answer with noise. */
export type SimFault = 'none' | 'silent' | 'garbage';

interface AxisState {
  motorOn: boolean;
  /** Displacement unit code (SN): 2 = mm. */
  unitCode: number;
  velocity: number;
  acceleration: number;
  /** Motion is modelled analytically: constant velocity from `from` to `to` starting at `t0`. */
  from: number;
  to: number;
  t0: number;
}

const ERROR_QUEUE_DEPTH = 10;

/**
 * Simulated ESP300 that moves its stages at the configured velocity in (scalable) real time, so
 * `MD?` really reads 0 during a move. Errors go into the controller's FIFO like on the device.
 */
export class Esp300Simulator implements DeviceSimulator {
  fault: SimFault = 'none';
  /** Every complete command line received, for tests that check what the host sent. */
  readonly received: string[] = [];
  keepReceived(limit: number): void {
    keepRecent(this.received, limit);
  }

  private readonly axes = new Map<number, AxisState>();
  private readonly errors: ErrorReport[] = [];
  private readonly timeScale: number;
  private readonly instantMoves: boolean;
  private readonly maxVelocity: number;
  private readonly maxAcceleration: number;
  private readonly travel: number;
  private readonly startedAt = Date.now();
  private listener: (data: Buffer) => void = () => {};
  private pending = '';
  private readonly timers = new Set<NodeJS.Immediate>();

  constructor(options: Esp300SimulatorOptions = {}) {
    this.timeScale = options.timeScale ?? 1;
    this.instantMoves = options.instantMoves ?? false;
    this.maxVelocity = options.maxVelocity ?? 25;
    this.maxAcceleration = options.maxAcceleration ?? 100;
    this.travel = options.travel ?? 100;
    for (const axis of options.axes ?? [1, 2, 3]) {
      this.axes.set(axis, { motorOn: false, unitCode: DEFAULT_UNIT_CODE, velocity: 5, acceleration: 20, from: 0, to: 0, t0: 0 });
    }
  }

  onSend(listener: (data: Buffer) => void): void {
    this.listener = listener;
  }

  receive(data: Buffer): void {
    this.pending += data.toString('latin1');
    // The controller ends a command at CR; a following LF is an empty line and ignored.
    let end: number;
    while ((end = this.pending.search(/[\r\n]/)) >= 0) {
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 1);
      if (line.trim() !== '') this.handleLine(line.trim());
    }
  }

  dispose(): void {
    for (const timer of this.timers) clearImmediate(timer);
    this.timers.clear();
  }

  /** Test hook: the stage position right now. */
  positionOf(axis: number): number {
    return this.currentPosition(this.axisState(axis));
  }

  isMoving(axis: number): boolean {
    return this.moving(this.axisState(axis));
  }

  /** Test hook: finish every move now. */
  completeMoves(): void {
    for (const state of this.axes.values()) this.settle(state, state.to);
  }

  /**
   * Test hook: someone changed the controller behind the host's back (front panel, another
   * program): new velocity, acceleration or units, or the stage now stands at `position`.
   */
  frontPanel(axis: number, change: { velocity?: number; acceleration?: number; position?: number; unitCode?: number }): void {
    const state = this.axisState(axis);
    if (change.velocity !== undefined) state.velocity = change.velocity;
    if (change.acceleration !== undefined) state.acceleration = change.acceleration;
    if (change.unitCode !== undefined) state.unitCode = change.unitCode;
    if (change.position !== undefined) this.settle(state, change.position);
  }

  /** Test hook: queue a controller error as if the hardware had raised it. */
  raiseError(code: number): void {
    this.pushError(code);
  }

  private axisState(axis: number): AxisState {
    const state = this.axes.get(axis);
    if (!state) throw new Error(`simulator has no axis ${axis}`);
    return state;
  }

  private now(): number {
    return (Date.now() - this.startedAt) * this.timeScale;
  }

  private moving(state: AxisState): boolean {
    return this.currentPosition(state) !== state.to;
  }

  private currentPosition(state: AxisState): number {
    const elapsedS = (this.now() - state.t0) / 1000;
    const distance = Math.abs(state.to - state.from);
    const travelled = state.velocity * elapsedS;
    if (travelled >= distance) return state.to;
    return state.from + Math.sign(state.to - state.from) * travelled;
  }

  private settle(state: AxisState, position: number): void {
    state.from = position;
    state.to = position;
    state.t0 = this.now();
  }

  private startMove(axis: number, state: AxisState, target: number): void {
    if (!state.motorOn) return this.pushError(axis * 100 + 13);
    if (target > this.travel) return this.pushError(axis * 100 + 6);
    if (target < -this.travel) return this.pushError(axis * 100 + 7);
    if (this.instantMoves) return this.settle(state, target);
    state.from = this.currentPosition(state);
    state.to = target;
    state.t0 = this.now();
  }

  private pushError(code: number): void {
    if (this.errors.length >= ERROR_QUEUE_DEPTH) this.errors.shift();
    this.errors.push({ code, timestamp: Math.floor(this.now()), message: errorMessage(code) });
  }

  private reply(text: string): void {
    if (this.fault === 'silent') return;
    const body = this.fault === 'garbage' ? '#\u00ff?!' : text;
    const timer = setImmediate(() => {
      this.timers.delete(timer);
      this.listener(Buffer.from(body + TERMINATOR, 'latin1'));
    });
    this.timers.add(timer);
  }

  private handleLine(line: string): void {
    pushRecent(this.received, line);
    // Several commands may share a line, separated by ';'.
    for (const command of line.split(';')) {
      if (command.trim() !== '') this.handleCommand(command.trim());
    }
  }

  private handleCommand(command: string): void {
    const match = /^(\d*)([A-Za-z]{2})(.*)$/.exec(command);
    if (!match) return this.pushError(6);
    const axisText = match[1]!;
    const mnemonic = match[2]!.toUpperCase();
    const rest = match[3]!.trim();
    const query = rest === '?';

    if (mnemonic === 'VE') return this.reply(VERSION_STRING);
    if (mnemonic === 'TB') {
      const report = this.errors.shift() ?? { code: 0, timestamp: Math.floor(this.now()), message: errorMessage(0) };
      return this.reply(formatErrorReport(report));
    }
    if (mnemonic === 'TE') return this.reply(String(this.errors.shift()?.code ?? 0));

    if (!AXIS_COMMANDS.has(mnemonic)) return this.pushError(6);
    if (axisText === '') return this.pushError(37);
    const axis = Number(axisText);
    const state = this.axes.get(axis);
    if (!state) return this.pushError(9);

    const value = query || rest === '' ? undefined : parseNumber(rest);
    if (!query && rest !== '' && value === undefined) return this.pushError(axis * 100 + 1);
    const needsValue = () => {
      if (value === undefined) this.pushError(38);
      return value;
    };

    switch (mnemonic) {
      case 'TP':
        return this.reply(formatNumber(this.currentPosition(state)));
      case 'MD':
        return this.reply(this.moving(state) ? '0' : '1');
      case 'MO':
        if (query) return this.reply(state.motorOn ? '1' : '0');
        state.motorOn = true;
        return;
      case 'MF':
        this.settle(state, this.currentPosition(state));
        state.motorOn = false;
        return;
      case 'PA': {
        if (query) return this.reply(formatNumber(state.to));
        const target = needsValue();
        if (target !== undefined) this.startMove(axis, state, target);
        return;
      }
      case 'PR': {
        const delta = needsValue();
        if (delta !== undefined) this.startMove(axis, state, this.currentPosition(state) + delta);
        return;
      }
      case 'OR':
        return this.startMove(axis, state, 0);
      case 'ST':
        // Stops a move in progress where it is (deceleration is not modelled); idle: nothing to do.
        return this.settle(state, this.currentPosition(state));
      case 'SN':
        if (query) return this.reply(String(state.unitCode));
        if (value === undefined || !Number.isInteger(value) || value < 0 || value > 11) return this.pushError(axis * 100 + 1);
        state.unitCode = value;
        return;
      case 'VA':
        if (query) return this.reply(formatNumber(state.velocity));
        return this.setLimited(axis, value, this.maxVelocity, 10, (v) => {
          // A new velocity applies to the rest of a move in progress.
          const position = this.currentPosition(state);
          state.from = position;
          state.t0 = this.now();
          state.velocity = v;
        });
      case 'AC':
        if (query) return this.reply(formatNumber(state.acceleration));
        return this.setLimited(axis, value, this.maxAcceleration, 11, (v) => {
          state.acceleration = v;
        });
      case 'VU':
        return this.reply(formatNumber(this.maxVelocity));
      case 'AU':
        return this.reply(formatNumber(this.maxAcceleration));
      default:
        return this.pushError(6);
    }
  }

  private setLimited(axis: number, value: number | undefined, max: number, errorKey: number, apply: (v: number) => void): void {
    if (value === undefined) return this.pushError(38);
    if (value <= 0) return this.pushError(axis * 100 + 1);
    if (value > max) return this.pushError(axis * 100 + errorKey);
    apply(value);
  }
}

const AXIS_COMMANDS = new Set(['TP', 'MD', 'MO', 'MF', 'PA', 'PR', 'OR', 'ST', 'SN', 'VA', 'AC', 'VU', 'AU']);
