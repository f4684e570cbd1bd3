/** SCPI value formatting and reply parsing, shared by the driver and its simulator. */
import type { ParamValue } from '../types.js';
import type { ScpiControl } from './options.js';

export const IDN = '*IDN?';
export const ERROR_QUERY = 'SYST:ERR?';

/** The value as it goes on the wire in a control's command. */
export function formatValue(control: Pick<ScpiControl, 'type' | 'format'>, value: ParamValue): string {
  if (control.type === 'boolean') {
    const on = value === true;
    return control.format === 'ON/OFF' ? (on ? 'ON' : 'OFF') : on ? '1' : '0';
  }
  return String(value);
}

export function fillCommand(template: string, value: string): string {
  return template.split('{value}').join(value);
}

/** "1", "ON" -> true; "0", "OFF" -> false; anything else undefined. */
export function parseBoolean(text: string): boolean | undefined {
  const t = text.trim().toUpperCase();
  if (t === '1' || t === 'ON' || t === '+1') return true;
  if (t === '0' || t === 'OFF' || t === '+0') return false;
  return undefined;
}

/** SCPI strings come quoted ("VOLT"); enum replies may also be abbreviated upper case. */
export function unquote(text: string): string {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** `-113,"Undefined header"` -> { code: -113, message: 'Undefined header' }. */
export function parseErrorReply(text: string): { code: number; message: string } | undefined {
  const m = /^\s*([+-]?\d+)\s*(?:,\s*(.*))?$/.exec(text);
  if (!m) return undefined;
  return { code: Number(m[1]), message: unquote(m[2] ?? '') };
}

/** How SCPI instruments typically print numbers: "+5.00123400E+00". */
export function formatScpiNumber(n: number): string {
  const [mantissa, exponent] = n.toExponential(8).split('e');
  const exp = Number(exponent);
  return `${n < 0 ? '' : '+'}${mantissa}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** SCPI headers are case-insensitive; compare commands the way an instrument would. */
export function sameHeader(a: string, b: string): boolean {
  return a.trim().toUpperCase() === b.trim().toUpperCase();
}
