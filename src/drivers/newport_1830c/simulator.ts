/**
 * A Newport 1830-C that lives in memory: keeps the meter's state, answers byte for byte, and makes
 * a plausible noisy power reading (attenuator divides by 1000, the filter averages noise away, an
 * unattenuated detector saturates above 2 mW).
 *
 * Tests steer it through `control` (never through the wire): go silent, answer garbage, saturate,
 * refuse set commands.
 */
import type { DeviceSimulator } from '../types.js';
import { LineSplitter } from '../common/line-protocol.js';
import {
  FILTERS,
  STATUS,
  UNITS,
  WAVELENGTH_MAX_NM,
  WAVELENGTH_MIN_NM,
  formatPower,
  type Filter,
  type Units,
} from './protocol.js';
import { keepRecent, pushRecent } from '../common/recent.js';

export interface NewportSimOptions {
  /** Light on the detector in W (before the attenuator). */
  powerW?: number;
  /** Relative noise (1 sigma) on a fast-filter reading. */
  noise?: number;
  /** Random source, for reproducible tests. */
  random?: () => number;
}

export interface NewportSimState {
  wavelengthNm: number;
  attenuator: boolean;
  filter: Filter;
  units: Units;
  /** Reference for dB / REL readings, W. */
  referenceW: number;
  status: number;
}

/** Test-only knobs. */
export interface NewportSimControl {
  /** Stop answering queries (set commands are still obeyed). */
  silent: boolean;
  /** Answer every query with this text instead of the real reply. */
  garbage: string | undefined;
  /** Refuse set commands: state unchanged, parameter-error bit set in the status byte. */
  refuseSets: boolean;
  /** Light on the detector, W. */
  powerW: number;
}

export const SATURATION_W = 2e-3;
const ATTENUATION = 1e-3;

export class Newport1830cSimulator implements DeviceSimulator {
  readonly state: NewportSimState = {
    wavelengthNm: 800,
    attenuator: false,
    filter: 'slow',
    units: 'W',
    referenceW: 1e-3,
    status: 0,
  };
  readonly control: NewportSimControl;
  /** Every command line received, for tests that check what went over the wire. */
  readonly received: string[] = [];
  keepReceived(limit: number): void {
    keepRecent(this.received, limit);
  }

  private readonly noise: number;
  private readonly random: () => number;
  private readonly lines = new LineSplitter('\n');
  private send: (data: Buffer) => void = () => {};

  constructor(options: NewportSimOptions = {}) {
    this.control = { silent: false, garbage: undefined, refuseSets: false, powerW: options.powerW ?? 5e-4 };
    this.noise = options.noise ?? 0.005;
    this.random = options.random ?? Math.random;
  }

  onSend(listener: (data: Buffer) => void): void {
    this.send = listener;
  }

  receive(data: Buffer): void {
    for (const line of this.lines.push(data)) {
      pushRecent(this.received, line);
      const reply = this.handle(line.trim());
      if (reply === undefined || this.control.silent) continue;
      this.send(Buffer.from(`${this.control.garbage ?? reply}\n`, 'latin1'));
    }
  }

  dispose(): void {
    this.send = () => {};
  }

  /** The reading the meter shows now, in watts at the detector (after the attenuator). */
  measuredW(): number {
    const atDetector = this.control.powerW * (this.state.attenuator ? ATTENUATION : 1);
    const averaged = { slow: 16, medium: 4, fast: 1 }[this.state.filter];
    const sigma = this.noise / Math.sqrt(averaged);
    return atDetector * (1 + sigma * gaussian(this.random));
  }

  private handle(line: string): string | undefined {
    const s = this.state;
    const query = line.endsWith('?');
    const head = line[0]?.toUpperCase();
    const arg = line.slice(1);
    if (query && line.length === 2) {
      switch (head) {
        case 'D':
          return this.powerReply();
        case 'W':
          return String(s.wavelengthNm).padStart(4, '0');
        case 'A':
          return s.attenuator ? '1' : '0';
        case 'F':
          return String(FILTERS.indexOf(s.filter) + 1);
        case 'U':
          return String(UNITS.indexOf(s.units) + 1);
        case 'Q': {
          const status = s.status | (this.saturated() ? STATUS.saturated : 0);
          s.status = 0; // reading the status byte clears the latched error bits
          return String(status);
        }
      }
      s.status |= STATUS.commandError;
      return undefined;
    }
    if (!/^\d+$/.test(arg)) {
      s.status |= STATUS.commandError;
      return undefined;
    }
    const n = Number(arg);
    const set = (valid: boolean, apply: () => void): undefined => {
      if (!valid || this.control.refuseSets) s.status |= STATUS.paramError;
      else apply();
      return undefined;
    };
    switch (head) {
      case 'W':
        return set(n >= WAVELENGTH_MIN_NM && n <= WAVELENGTH_MAX_NM, () => (s.wavelengthNm = n));
      case 'A':
        return set(n === 0 || n === 1, () => (s.attenuator = n === 1));
      case 'F':
        return set(n >= 1 && n <= 3, () => (s.filter = FILTERS[n - 1]!));
      case 'U':
        return set(n >= 1 && n <= 4, () => (s.units = UNITS[n - 1]!));
    }
    s.status |= STATUS.commandError;
    return undefined;
  }

  private saturated(): boolean {
    return !this.state.attenuator && this.control.powerW > SATURATION_W;
  }

  private powerReply(): string {
    const w = this.saturated() ? SATURATION_W : this.measuredW();
    const s = this.state;
    switch (s.units) {
      case 'W':
        return formatPower(w, 'W');
      case 'dBm':
        return formatPower(10 * Math.log10(w / 1e-3), 'dBm');
      case 'dB':
        return formatPower(10 * Math.log10(w / s.referenceW), 'dB');
      case 'REL':
        return formatPower(w / s.referenceW, 'REL');
    }
  }
}

/** Standard normal deviate (Box-Muller). */
function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
