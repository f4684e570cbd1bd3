/**
 * The simulated slave's data: which addresses exist (from the config's register map) and what
 * they hold. Input registers and discrete inputs change with time like a live sensor would;
 * holding registers and coils keep what was last written.
 */
import type { DriverConfig } from '../types.js';
import { controlPoints, readingPoints, type ModbusOptions, type PointSpec } from './options.js';
import { rawFromValue, rawToWords, typeRange } from './values.js';

export type Table = 'holding' | 'input' | 'coil' | 'discrete';

/** A plausible level and wobble for a reading, guessed from its unit. */
function profile(unit: string | undefined): { center: number; amplitude: number } {
  const u = (unit ?? '').toLowerCase();
  if (u === 'degc' || u === '°c' || u === 'c') return { center: 23, amplitude: 0.5 };
  if (u === 'k') return { center: 296, amplitude: 0.5 };
  if (u.startsWith('%')) return { center: 45, amplitude: 5 };
  if (u === 'v') return { center: 5, amplitude: 0.05 };
  if (u === 'ma') return { center: 12, amplitude: 0.2 };
  if (u === 'bar') return { center: 1.013, amplitude: 0.002 };
  if (u === 'pa') return { center: 101325, amplitude: 200 };
  return { center: 10, amplitude: 1 };
}

/** Engineering value to register words, clamped into what the register type can hold. */
function encode(point: PointSpec, value: number): number[] {
  const range = typeRange(point.type);
  let raw: number;
  const converted = rawFromValue(value, point.type, point.scale);
  if ('raw' in converted) raw = converted.raw;
  else raw = range ? (value / point.scale < 0 ? range.min : range.max) : 0;
  return rawToWords(raw, point.type, point.wordOrder);
}

export class SimRegisters {
  private readonly tables: Record<Table, Map<number, number>> = {
    holding: new Map(), input: new Map(), coil: new Map(), discrete: new Map(),
  };
  /** Live inputs: recomputed from the clock on every read. */
  private readonly live: { point: PointSpec; phase: number }[] = [];

  constructor(config: DriverConfig<ModbusOptions>, private readonly now: () => number = Date.now) {
    for (const point of readingPoints(config.options)) {
      if (point.function === 'input' || point.function === 'discrete') this.live.push({ point, phase: point.address });
      // Coils start off; registers at a plausible level for their unit.
      this.store(point, point.type === 'bool' ? 0 : profile(point.unit).center);
    }
    for (const control of controlPoints(config.options)) {
      const configured = config.params[control.name];
      const fallback = control.min !== undefined && control.min > 0 ? control.min : 0;
      const value = typeof configured === 'number' ? configured : typeof configured === 'boolean' ? Number(configured) : fallback;
      this.store(control, value);
    }
  }

  private store(point: PointSpec, value: number): void {
    const table = this.tables[point.function];
    if (point.type === 'bool') {
      table.set(point.address, value ? 1 : 0);
      return;
    }
    encode(point, value).forEach((word, i) => table.set(point.address + i, word));
  }

  private refreshLive(): void {
    const seconds = this.now() / 1000;
    for (const { point, phase } of this.live) {
      if (point.type === 'bool') {
        this.tables.discrete.set(point.address, Math.floor(seconds / 10 + phase) % 2);
        continue;
      }
      const { center, amplitude } = profile(point.unit);
      this.store(point, center + amplitude * Math.sin((2 * Math.PI * seconds) / 60 + phase));
    }
  }

  /** Whether every address in [address, address + count) exists. */
  mapped(table: Table, address: number, count: number): boolean {
    for (let a = address; a < address + count; a++) if (!this.tables[table].has(a)) return false;
    return true;
  }

  read(table: Table, address: number, count: number): number[] {
    if (table === 'input' || table === 'discrete') this.refreshLive();
    return Array.from({ length: count }, (_, i) => this.tables[table].get(address + i) ?? 0);
  }

  write(table: 'holding' | 'coil', address: number, values: readonly number[]): void {
    values.forEach((v, i) => this.tables[table].set(address + i, v));
  }
}

