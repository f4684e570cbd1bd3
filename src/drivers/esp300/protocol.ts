/**
 * Newport ESP300 wire format, shared by the driver and its simulator so both sides agree on
 * every byte. Commands are `{axis}{mnemonic}{value}` terminated by CR LF; replies end CR LF.
 * Set commands get no reply: errors are queued on the controller and read with `TB?`
 * ("code, timestamp, MESSAGE"). Axis errors are coded axis*100 + n (e.g. 113 = axis 1 motor off).
 */
import { NUMERIC_TEXT } from '../common/params.js';

export const TERMINATOR = '\r\n';

export const VERSION_STRING = 'ESP300 Version 3.04 07/27/01';

/** General (non-axis) error codes from the ESP300 manual, error message table. */
export const GENERAL_ERRORS: Record<number, string> = {
  0: 'NO ERROR DETECTED',
  1: 'PCI COMMUNICATION TIME-OUT',
  4: 'EMERGENCY SOP ACTIVATED',
  6: 'COMMAND DOES NOT EXIST',
  7: 'PARAMETER OUT OF RANGE',
  8: 'CABLE INTERLOCK ERROR',
  9: 'AXIS NUMBER OUT OF RANGE',
  13: 'GROUP NUMBER MISSING',
  37: 'AXIS NUMBER MISSING',
  38: 'COMMAND PARAMETER MISSING',
};

/** Axis error codes: the reported code is axis*100 + key. */
export const AXIS_ERRORS: Record<number, string> = {
  0: 'MOTOR TYPE NOT DEFINED',
  1: 'PARAMETER OUT OF RANGE',
  2: 'AMPLIFIER FAULT DETECTED',
  3: 'FOLLOWING ERROR THRESHOLD EXCEEDED',
  4: 'POSITIVE HARDWARE LIMIT DETECTED',
  5: 'NEGATIVE HARDWARE LIMIT DETECTED',
  6: 'POSITIVE SOFTWARE LIMIT DETECTED',
  7: 'NEGATIVE SOFTWARE LIMIT DETECTED',
  8: 'MOTOR / STAGE NOT CONNECTED',
  9: 'FEEDBACK SIGNAL FAULT DETECTED',
  10: 'MAXIMUM VELOCITY EXCEEDED',
  11: 'MAXIMUM ACCELERATION EXCEEDED',
  13: 'MOTOR NOT ENABLED',
  20: 'HOMING ABORTED',
};

export function errorMessage(code: number): string {
  if (code >= 100) {
    const axis = Math.floor(code / 100);
    const text = AXIS_ERRORS[code % 100] ?? 'UNKNOWN AXIS ERROR';
    return `AXIS-${axis} ${text}`;
  }
  return GENERAL_ERRORS[code] ?? 'UNKNOWN ERROR';
}

/**
 * Numbers as the controller prints them: plain decimal, no exponent, trailing zeros dropped
 * (`12.345`, `0`, `-3.5`). Six decimals is the controller's resolution.
 */
export function formatNumber(value: number): string {
  const fixed = value.toFixed(6);
  const trimmed = fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  return trimmed === '-0' ? '0' : trimmed;
}

/** Value written in a set command: the manual's examples use fixed six decimals (`1PA5.000000`). */
export function formatSetValue(value: number): string {
  return value.toFixed(6);
}


/** Parses a numeric reply line; returns undefined if it is not exactly one number. */
export function parseNumber(line: string): number | undefined {
  const text = line.trim();
  if (!NUMERIC_TEXT.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export interface ErrorReport {
  code: number;
  timestamp: number;
  message: string;
}

/** `TB?` reply: `0, 451322, NO ERROR DETECTED`. */
export function parseErrorReport(line: string): ErrorReport | undefined {
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*,\s*(.*?)\s*$/.exec(line);
  if (!match) return undefined;
  return { code: Number(match[1]), timestamp: Number(match[2]), message: match[3]! };
}

export function formatErrorReport(report: ErrorReport): string {
  return `${report.code}, ${report.timestamp}, ${report.message}`;
}

/**
 * Displacement units (`SN?` reply / `SN<code>`), from the ESP300 manual's SN command. Positions,
 * velocities and accelerations are all in this unit (per second, per second squared).
 */
export const UNIT_CODES: readonly string[] = [
  'counts', // 0 encoder count
  'steps', // 1 motor step
  'mm', // 2 millimetre
  'um', // 3 micrometre
  'in', // 4 inch
  'mil', // 5 milli-inch
  'uin', // 6 micro-inch
  'deg', // 7 degree
  'grad', // 8 gradian
  'rad', // 9 radian
  'mrad', // 10 milliradian
  'urad', // 11 microradian
];

/** The unit the parameters and readings are declared in (linear stages as shipped). */
export const DEFAULT_UNIT = 'mm';
export const DEFAULT_UNIT_CODE = 2;

export function unitFromCode(code: number): string | undefined {
  return Number.isInteger(code) ? UNIT_CODES[code] : undefined;
}
