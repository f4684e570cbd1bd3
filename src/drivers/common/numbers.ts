/** Parsing of numbers in instrument replies, with errors that quote what the device sent. */
import { DaqError } from '../../errors.js';
import { NUMERIC_TEXT } from './params.js';

/**
 * Instruments send numbers in forms JavaScript's Number() mostly accepts: "+.75E-9", "-15.24",
 * "1.000000E+00", "0800" (NUMERIC_TEXT). Surrounding spaces are ignored; anything else is a
 * protocol error.
 */
export function parseDeviceNumber(text: string, context: { instrumentId: string; exchange: string }): number {
  const trimmed = text.trim();
  if (!NUMERIC_TEXT.test(trimmed)) {
    throw protocolError(context, text, 'a number');
  }
  return Number(trimmed);
}

export function parseDeviceInteger(text: string, context: { instrumentId: string; exchange: string }): number {
  const n = parseDeviceNumber(text, context);
  if (!Number.isInteger(n)) throw protocolError(context, text, 'an integer');
  return n;
}

export function protocolError(
  context: { instrumentId: string; exchange: string },
  reply: string,
  expected: string,
): DaqError {
  const shown = JSON.stringify(reply.length > 60 ? `${reply.slice(0, 60)}...` : reply);
  return new DaqError('protocol_error', `${context.instrumentId}: unexpected reply to ${context.exchange}: ${shown} (expected ${expected})`, {
    details: { exchange: context.exchange, reply: reply.slice(0, 200) },
  });
}
