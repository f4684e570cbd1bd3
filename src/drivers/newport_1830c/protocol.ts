/**
 * Newport 1830-C wire protocol (RS-232, 9600 8N1, commands and replies end with LF).
 *
 * Command set as used here (from the 1830-C manual as reproduced by public drivers - lantz,
 * Instrumental; see docs/drivers/newport_1830c.md for what is assumed):
 *   D?            power in the current units, e.g. "+.75E-9" (W) or "-15.24" (dB/dBm)
 *   W? / Wnnnn    wavelength in nm (reply "0800" style: integer, we accept any width)
 *   A? / A0 A1    attenuator off / on
 *   F? / F1..F3   filter slow (16-reading average) / medium (4) / fast (none)
 *   U? / U1..U4   units W / dB / dBm / REL
 *   Q?            status byte: 1 parameter error, 2 command error, 4 saturated, 8 out of range,
 *                 32 busy
 * Set commands get no reply.
 */

export const FILTERS = ['slow', 'medium', 'fast'] as const;
export type Filter = (typeof FILTERS)[number];
export const UNITS = ['W', 'dB', 'dBm', 'REL'] as const;
export type Units = (typeof UNITS)[number];

export const STATUS = {
  paramError: 1,
  commandError: 2,
  saturated: 4,
  outOfRange: 8,
  busy: 32,
} as const;

/** The 818-SL silicon detector's calibrated range. */
export const WAVELENGTH_MIN_NM = 400;
export const WAVELENGTH_MAX_NM = 1100;

export const cmd = {
  power: 'D?',
  status: 'Q?',
  wavelengthQuery: 'W?',
  wavelengthSet: (nm: number) => `W${String(Math.round(nm)).padStart(4, '0')}`,
  attenuatorQuery: 'A?',
  attenuatorSet: (on: boolean) => `A${on ? 1 : 0}`,
  filterQuery: 'F?',
  filterSet: (f: Filter) => `F${FILTERS.indexOf(f) + 1}`,
  unitsQuery: 'U?',
  unitsSet: (u: Units) => `U${UNITS.indexOf(u) + 1}`,
} as const;

/** 1-based code on the wire -> name, or undefined for a code the meter should not send. */
export function filterFromCode(code: number): Filter | undefined {
  return FILTERS[code - 1];
}

export function unitsFromCode(code: number): Units | undefined {
  return UNITS[code - 1];
}

/**
 * The meter's own number format: sign, mantissa without a leading zero, E, exponent:
 * 7.5e-10 -> "+.7500E-9". dB and dBm readings are fixed-point with two decimals: "-15.24".
 */
export function formatPower(value: number, units: Units): string {
  if (units === 'dB' || units === 'dBm') {
    return `${value < 0 ? '-' : '+'}${Math.abs(value).toFixed(2)}`;
  }
  if (value === 0) return '+.0000E+0';
  const sign = value < 0 ? '-' : '+';
  let exponent = Math.floor(Math.log10(Math.abs(value))) + 1;
  let mantissa = Math.abs(value) / 10 ** exponent;
  let digits = Math.round(mantissa * 1e4);
  if (digits >= 1e4) {
    // 0.99996 rounds up to 1.0000: renormalise.
    digits = 1000;
    exponent += 1;
  }
  mantissa = digits;
  return `${sign}.${String(mantissa).padStart(4, '0')}E${exponent >= 0 ? '+' : ''}${exponent}`;
}

export function describeStatus(status: number): string[] {
  const problems: string[] = [];
  if (status & STATUS.saturated) problems.push('detector saturated (turn the attenuator on or reduce the light)');
  if (status & STATUS.outOfRange) problems.push('signal out of range');
  if (status & STATUS.commandError) problems.push('the meter did not understand a command');
  if (status & STATUS.paramError) problems.push('the meter refused a parameter value');
  return problems;
}
