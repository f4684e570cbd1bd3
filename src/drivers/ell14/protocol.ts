/**
 * Thorlabs Elliptec (ELLx) protocol, shared by the ELL14 driver and its simulator.
 *
 * Host -> device: `<address><cmd><data>` with a one-hex-digit address (0-F), a lowercase two-letter
 * command and a fixed-length hex payload, and no terminator at all. Device -> host: `<address>
 * <CMD><data>` in upper case, ended by CR LF. Positions are 8 hex digits, signed 32-bit two's
 * complement, in encoder pulses.
 */

export const REPLY_TERMINATOR = '\r\n';

/** ELL14: 143360 pulses per revolution (also reported by `in` as pulses per unit). */
export const ELL14_PULSES_PER_REV = 143360;
export const ELL14_MOTOR_TYPE = 0x0e;

export const ADDRESSES = '0123456789ABCDEF'.split('');

/**
 * Payload length (characters) of each host command the simulator understands.
 *
 * `st` (stop, "_HOST_MOTIONSTOP" in the ELLx protocol manual) is accepted while a move runs: the
 * mount stops where it is and the interrupted move gets its one reply, `PO` with the position it
 * stopped at (so the host's `ma` exchange, still waiting, completes). To an idle mount `st` is
 * answered with `GS00`. The manual's wording on the reply to `st` varies between issues: some
 * firmware may answer the interrupted move with `GS00` instead of `PO`; the driver accepts both
 * (and then asks `gp` for the position).
 */
export const HOST_PAYLOAD_LENGTH: Record<string, number> = {
  in: 0,
  gs: 0,
  gp: 0,
  ma: 8,
  mr: 8,
  ho: 1,
  st: 0,
};

/** GS status codes from the Elliptec communication protocol manual. */
export const STATUS_MESSAGES: Record<number, string> = {
  0: 'OK, no error',
  1: 'communication time out',
  2: 'mechanical time out',
  3: 'command error or not supported',
  4: 'value out of range',
  5: 'module isolated',
  6: 'module out of isolation',
  7: 'initializing error',
  8: 'thermal error',
  9: 'busy',
  10: 'sensor error',
  11: 'motor error',
  12: 'out of range (move beyond the travel range)',
  13: 'over current error',
};

export function statusMessage(code: number): string {
  return STATUS_MESSAGES[code] ?? `reserved status code ${code}`;
}

/** Signed 32-bit pulses as 8 upper-case hex digits (two's complement). */
export function encodePulses(pulses: number): string {
  return (pulses >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** 8 hex digits as signed 32-bit pulses; undefined if not exactly 8 hex digits. */
export function decodePulses(hex: string): number | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  return parseInt(hex, 16) | 0;
}

export interface DeviceInfo {
  motorType: number;
  serial: string;
  year: string;
  firmware: string;
  hardware: string;
  travel: number;
  pulsesPerUnit: number;
}

/** `in` reply payload (30 characters): type, serial, year, firmware, hardware, travel, pulses. */
export function parseInfo(payload: string): DeviceInfo | undefined {
  const match = /^([0-9A-F]{2})([0-9A-Za-z]{8})(\d{4})([0-9A-F]{2})([0-9A-F]{2})([0-9A-F]{4})([0-9A-F]{8})$/i.exec(payload);
  if (!match) return undefined;
  return {
    motorType: parseInt(match[1]!, 16),
    serial: match[2]!,
    year: match[3]!,
    firmware: match[4]!,
    hardware: match[5]!,
    travel: parseInt(match[6]!, 16),
    pulsesPerUnit: parseInt(match[7]!, 16),
  };
}

export function formatInfo(info: DeviceInfo): string {
  return (
    info.motorType.toString(16).toUpperCase().padStart(2, '0') +
    info.serial +
    info.year +
    info.firmware +
    info.hardware +
    info.travel.toString(16).toUpperCase().padStart(4, '0') +
    info.pulsesPerUnit.toString(16).toUpperCase().padStart(8, '0')
  );
}

export interface Reply {
  address: string;
  /** Upper-case reply code: PO, GS, IN, ... */
  code: string;
  payload: string;
}

/** `2PO00004650` -> { address: '2', code: 'PO', payload: '00004650' }. */
export function parseReply(line: string): Reply | undefined {
  const match = /^([0-9A-F])([A-Z]{2})([0-9A-Za-z]*)$/.exec(line);
  if (!match) return undefined;
  return { address: match[1]!, code: match[2]!, payload: match[3]! };
}
