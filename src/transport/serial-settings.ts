import type { SerialSettings } from './types.js';

/** 9600 8N1 without flow control: what most lab instruments ship with. */
export const DEFAULT_SERIAL: SerialSettings = {
  baudRate: 9600,
  dataBits: 8,
  parity: 'none',
  stopBits: 1,
  flowControl: 'none',
};

/** Bits on the wire per character: start bit + data bits + parity bit (if any) + stop bits. */
export function bitsPerCharacter(s: SerialSettings): number {
  return 1 + s.dataBits + (s.parity === 'none' ? 0 : 1) + s.stopBits;
}

/** Characters per second the line carries (baud/10 for 8N1). */
export function lineRate(s: SerialSettings): number {
  return s.baudRate / bitsPerCharacter(s);
}

export function sameSerialSettings(a: SerialSettings, b: SerialSettings): boolean {
  return (
    a.baudRate === b.baudRate &&
    a.dataBits === b.dataBits &&
    a.parity === b.parity &&
    a.stopBits === b.stopBits &&
    a.flowControl === b.flowControl
  );
}

/** "9600 8N1" style, for messages. */
export function describeSerial(s: SerialSettings): string {
  const parity = { none: 'N', even: 'E', odd: 'O', mark: 'M', space: 'S' }[s.parity];
  const flow = s.flowControl === 'none' ? '' : ` ${s.flowControl}`;
  return `${s.baudRate} ${s.dataBits}${parity}${s.stopBits}${flow}`;
}
