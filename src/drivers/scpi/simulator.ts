/**
 * A generic SCPI instrument built from the same config as the driver: answers *IDN?, the configured
 * channel queries (plausible noisy numbers), stores values from control commands and returns them
 * on the control's query, and keeps a SYST:ERR? error queue like a real instrument (an unknown
 * header queues -113,"Undefined header" and gets no reply).
 *
 * Tests steer it through `control`, never through the wire.
 */
import type { DeviceSimulator, ParamValue } from '../types.js';
import { LineSplitter } from '../common/line-protocol.js';
import type { ScpiChannel, ScpiControl, ScpiOptions } from './options.js';
import { encodeBlock, encodeSamples } from './block.js';
import { formatScpiNumber, formatValue, parseBoolean, sameHeader, unquote } from './protocol.js';
import { keepRecent, pushRecent } from '../common/recent.js';

export interface ScpiSimControl {
  /** Stop answering queries (commands are still obeyed). */
  silent: boolean;
  /** Answer every query with this text instead of the real reply. */
  garbage: string | undefined;
  /** Centre values of the channels, by channel name. */
  values: Record<string, ParamValue>;
  /** *OPC? answers after this long (an operation still running), in ms. */
  opcDelayMs: number;
}

const ERRORS = {
  undefinedHeader: '-113,"Undefined header"',
  dataType: '-104,"Data type error"',
  outOfRange: '-222,"Data out of range"',
  illegalValue: '-224,"Illegal parameter value"',
  queueOverflow: '-350,"Queue overflow"',
} as const;

export class ScpiSimulator implements DeviceSimulator {
  readonly control: ScpiSimControl;
  /** Every command line received. */
  readonly received: string[] = [];
  keepReceived(limit: number): void {
    keepRecent(this.received, limit);
  }

  /** Values the device holds, by control name. */
  readonly stored: Record<string, ParamValue> = {};
  readonly errorQueue: string[] = [];
  private readonly lines: LineSplitter;
  private readonly idn: string;
  private readonly noise: number;
  private send: (data: Buffer) => void = () => {};
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: ScpiOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.lines = new LineSplitter(options.terminator);
    this.idn = options.sim?.idn ?? 'DAQD,SCPI-SIM,0,1.0';
    this.noise = options.sim?.noise ?? 1e-3;
    this.control = { silent: false, garbage: undefined, values: { ...(options.sim?.values ?? {}) }, opcDelayMs: 0 };
    this.reset();
  }

  onSend(listener: (data: Buffer) => void): void {
    this.send = listener;
  }

  receive(data: Buffer): void {
    for (const line of this.lines.push(data)) {
      pushRecent(this.received, line);
      const reply = this.handle(line.trim());
      if (reply === undefined || this.control.silent) continue;
      const bytes = Buffer.from(`${this.control.garbage ?? reply}${this.options.terminator}`, 'latin1');
      if (this.control.opcDelayMs > 0 && line.trim().toUpperCase() === '*OPC?') {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.send(bytes);
        }, this.control.opcDelayMs);
        this.timers.add(timer);
      } else {
        this.send(bytes);
      }
    }
  }

  dispose(): void {
    this.send = () => {};
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Test hook: queue an error as if the device had found one. */
  pushError(code: number, message: string): void {
    this.queueError(`${code},"${message}"`);
  }

  private reset(): void {
    for (const [name, c] of Object.entries(this.options.controls)) this.stored[name] = initialValue(c);
  }

  private handle(line: string): string | undefined {
    if (line === '') return undefined;
    const upper = line.toUpperCase();
    if (upper === '*IDN?') return this.idn;
    if (upper === '*RST') return void this.reset();
    if (upper === '*CLS') return void this.errorQueue.splice(0);
    if (upper === '*OPC?') return '1';
    if (['SYST:ERR?', 'SYSTEM:ERROR?', 'SYST:ERR:NEXT?', 'SYSTEM:ERROR:NEXT?'].includes(upper)) {
      return this.errorQueue.shift() ?? '0,"No error"';
    }
    for (const [name, c] of Object.entries(this.options.controls)) {
      if (c.query && sameHeader(c.query, line)) return formatValue(c, this.stored[name]!);
      const value = matchCommand(c.command, line);
      if (value !== undefined) return void this.store(name, c, value);
    }
    for (const [name, ch] of Object.entries(this.options.channels)) {
      if (sameHeader(ch.query, line)) return ch.type === 'block' ? this.block(name, ch) : this.reading(name, ch.type);
    }
    this.queueError(ERRORS.undefinedHeader);
    return undefined;
  }

  private store(name: string, c: ScpiControl, text: string): void {
    const raw = unquote(text);
    switch (c.type) {
      case 'boolean': {
        const b = parseBoolean(raw);
        if (b === undefined) return this.queueError(ERRORS.dataType);
        this.stored[name] = b;
        return;
      }
      case 'enum': {
        const match = c.values!.find((v) => String(v).toUpperCase() === raw.toUpperCase());
        if (match === undefined) return this.queueError(ERRORS.illegalValue);
        this.stored[name] = match;
        return;
      }
      default: {
        const n = Number(raw);
        if (raw === '' || !Number.isFinite(n) || (c.type === 'integer' && !Number.isInteger(n))) {
          return this.queueError(ERRORS.dataType);
        }
        if ((c.min !== undefined && n < c.min) || (c.max !== undefined && n > c.max)) {
          return this.queueError(ERRORS.outOfRange);
        }
        this.stored[name] = n;
      }
    }
  }

  private reading(name: string, type: 'number' | 'string' | 'boolean'): string {
    const centre = this.control.values[name];
    if (type === 'string') return `"${String(centre ?? name)}"`;
    if (type === 'boolean') return centre ? '1' : '0';
    const base = typeof centre === 'number' ? centre : plausibleValue(name);
    // An overloaded input reads SCPI's "infinity" (9.9E37) exactly, without noise, like a real one.
    if (Math.abs(base) >= 9.9e37) return formatScpiNumber(base);
    return formatScpiNumber(base * (1 + this.noise * (this.random() * 2 - 1)));
  }

  /** A definite-length block of `sim.points` samples around the channel's centre (latin1, byte for byte). */
  private block(name: string, ch: ScpiChannel): string {
    const format = ch.block_format ?? 'real32';
    if (format === 'text') return encodeBlock(Buffer.from(String(this.control.values[name] ?? name), 'latin1')).toString('latin1');
    const centre = this.control.values[name];
    const base = typeof centre === 'number' ? centre : plausibleValue(name);
    const points = this.options.sim?.points ?? 100;
    const samples = Array.from({ length: points }, () => base * (1 + this.noise * (this.random() * 2 - 1)));
    return encodeBlock(encodeSamples(samples, format, ch.byte_order ?? 'big')).toString('latin1');
  }

  private queueError(error: string): void {
    // Real instruments cap the queue and replace the last entry with a queue-overflow error.
    if (this.errorQueue.length >= 20) this.errorQueue[19] = ERRORS.queueOverflow;
    else this.errorQueue.push(error);
  }
}

function initialValue(c: ScpiControl): ParamValue {
  if (c.type === 'boolean') return false;
  if (c.type === 'enum') return c.values![0]!;
  return c.min !== undefined && c.min > 0 ? c.min : 0;
}

/** The value text if `line` is `template` with something in place of {value}. */
function matchCommand(template: string, line: string): string | undefined {
  const [before, after] = template.split('{value}') as [string, string];
  const l = line.toUpperCase();
  if (!l.startsWith(before.toUpperCase()) || !l.endsWith(after.toUpperCase())) return undefined;
  if (line.length < before.length + after.length) return undefined;
  const value = line.slice(before.length, line.length - after.length).trim();
  // "VOLT?" must not count as "VOLT {value}" with value "?".
  return value === '' || value.endsWith('?') ? undefined : value;
}

/** A stable, different-looking number per channel name, so a fresh sim shows distinct readings. */
function plausibleValue(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 1 + (h % 900) / 100;
}
