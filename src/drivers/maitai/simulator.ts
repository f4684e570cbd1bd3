import type { DeviceSimulator } from '../types.js';
import {
  IDN_REPLY,
  REPLY_TERMINATOR,
  WAVELENGTH_MAX_NM,
  WAVELENGTH_MIN_NM,
  keywordMatches,
} from './protocol.js';
import { keepRecent, pushRecent } from '../common/recent.js';

/** What the simulated laser does with a query: answer, stay silent, or answer with noise. */
export type SimFault = 'none' | 'silent' | 'garbage';

export interface MaiTaiSimulatorOptions {
  wavelengthNm?: number;
  shutterOpen?: boolean;
  emission?: boolean;
  /** Test hook: how POWER? is formatted (the real laser shows W, mW or % by display mode). */
  powerFormat?: 'W' | 'mW' | '%';
}

/**
 * Simulated MaiTai. Output power follows a gain curve peaking at 800 nm while emission is on.
 * Like the real laser it ignores unknown commands and out-of-range wavelengths without a reply.
 */
export class MaiTaiSimulator implements DeviceSimulator {
  fault: SimFault = 'none';
  wavelengthNm: number;
  shutterOpen: boolean;
  emission: boolean;
  powerFormat: 'W' | 'mW' | '%';
  /** Every command line received (without terminator), for tests. */
  readonly received: string[] = [];
  keepReceived(limit: number): void {
    keepRecent(this.received, limit);
  }

  /** Test hook: was emission ever switched on while the shutter was open? */
  unsafeEmissionEvents = 0;
  private listener: (data: Buffer) => void = () => {};
  private pending = '';
  private readonly timers = new Set<NodeJS.Immediate>();

  constructor(options: MaiTaiSimulatorOptions = {}) {
    this.wavelengthNm = options.wavelengthNm ?? 800;
    this.shutterOpen = options.shutterOpen ?? false;
    this.emission = options.emission ?? false;
    this.powerFormat = options.powerFormat ?? 'W';
  }

  onSend(listener: (data: Buffer) => void): void {
    this.listener = listener;
  }

  receive(data: Buffer): void {
    this.pending += data.toString('latin1');
    let end: number;
    while ((end = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, end).replace(/\r$/, '').trim();
      this.pending = this.pending.slice(end + 1);
      if (line !== '') this.handle(line);
    }
  }

  dispose(): void {
    for (const timer of this.timers) clearImmediate(timer);
    this.timers.clear();
  }

  /** Output power in watts right now. */
  powerW(): number {
    if (!this.emission) return 0;
    const detune = (this.wavelengthNm - 800) / 400;
    return 3.0 * Math.max(0.2, 1 - detune * detune);
  }

  private reply(text: string): void {
    if (this.fault === 'silent') return;
    const body = this.fault === 'garbage' ? '\u00ff#?' : text;
    const timer = setImmediate(() => {
      this.timers.delete(timer);
      this.listener(Buffer.from(body + REPLY_TERMINATOR, 'latin1'));
    });
    this.timers.add(timer);
  }

  private formatPower(): string {
    const watts = this.powerW();
    if (this.powerFormat === 'mW') return `${Math.round(watts * 1000)}mW`;
    if (this.powerFormat === '%') return `${Math.round((watts / 3.0) * 100)}%`;
    return `${watts.toFixed(2)}W`;
  }

  private handle(line: string): void {
    pushRecent(this.received, line);
    const upper = line.toUpperCase();
    if (upper === '*IDN?') return this.reply(IDN_REPLY);
    if (upper === 'ON') {
      if (this.shutterOpen && !this.emission) this.unsafeEmissionEvents++;
      this.emission = true;
      return;
    }
    if (upper === 'OFF') {
      this.emission = false;
      return;
    }
    // `KEYWORD?`, `READ:KEYWORD?`, or `KEYWORD:value` / `KEYWORD value`.
    const match = /^(?:(READ):)?([A-Za-z]+)\s*(\?|[:\s]\s*(\S+))$/.exec(line);
    if (!match) return;
    const [, read, keyword, op, value] = match as unknown as [string, string | undefined, string, string, string | undefined];
    const query = op === '?';
    if (keywordMatches(keyword, 'WAVelength')) {
      if (query) return this.reply(`${formatNm(this.wavelengthNm)}nm`);
      if (read) return;
      const nm = Number(value);
      if (Number.isFinite(nm) && nm >= WAVELENGTH_MIN_NM && nm <= WAVELENGTH_MAX_NM) this.wavelengthNm = nm;
      return;
    }
    if (keywordMatches(keyword, 'POWer') && query) return this.reply(this.formatPower());
    if (keywordMatches(keyword, 'SHUTter') && !read) {
      if (query) return this.reply(this.shutterOpen ? '1' : '0');
      if (value === '0' || value === '1') this.shutterOpen = value === '1';
    }
  }
}

function formatNm(nm: number): string {
  return Number.isInteger(nm) ? String(nm) : nm.toFixed(1);
}
