/**
 * Spectra-Physics MaiTai serial protocol, shared by the driver and its simulator. The host ends
 * commands with CR LF; the laser ends replies with LF. Set commands (`WAVELENGTH:800`,
 * `SHUTTER:1`, `ON`, `OFF`) get no reply: the driver confirms them with the matching query.
 */

export const HOST_TERMINATOR = '\r\n';
export const REPLY_TERMINATOR = '\n';

/** The Ti:sapphire tuning range of the MaiTai (HP); a set outside it is ignored by the laser. */
export const WAVELENGTH_MIN_NM = 690;
export const WAVELENGTH_MAX_NM = 1040;

export const IDN_REPLY = 'Spectra Physics,MaiTai,3227/51054/40856,0245-2.00.34 / CD00000019 / 214-00.004.057';

/**
 * SCPI keyword match: `long` is written with its short form in capitals (`WAVelength`); the
 * device accepts the short form or the whole word, in any case.
 */
export function keywordMatches(word: string, long: string): boolean {
  const upper = word.toUpperCase();
  const short = long.replace(/[a-z]/g, '');
  return upper === short || upper === long.toUpperCase();
}

/** `820nm` (also `820.5nm`). */
export function parseWavelength(reply: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*nm\s*$/i.exec(reply);
  return match ? Number(match[1]) : undefined;
}

export type PowerReading = { watts: number } | { percent: number };

/** `3.00W`, `100mW` or `50%` (the laser reports percent in some display modes). */
export function parsePower(reply: string): PowerReading | undefined {
  const match = /^\s*([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(W|mW|%)\s*$/.exec(reply);
  if (!match) return undefined;
  const value = Number(match[1]);
  if (!Number.isFinite(value)) return undefined;
  if (match[2] === '%') return { percent: value };
  return { watts: match[2] === 'mW' ? value / 1000 : value };
}

/** `0` closed, `1` open. */
export function parseShutter(reply: string): boolean | undefined {
  const text = reply.trim();
  if (text === '0') return false;
  if (text === '1') return true;
  return undefined;
}
