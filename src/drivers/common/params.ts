/**
 * Parameter validation shared by every driver: turns what a person typed (TOML value, JSON value,
 * or a CLI string like "800" / "true") into the typed value the driver expects, or a DaqError that
 * says what is allowed. Runs before any byte goes to the device.
 */
import { DaqError } from '../../errors.js';
import type { ParamDecl, ParamValue } from '../types.js';

/**
 * Returns the coerced value, or throws DaqError 'invalid_params' (wrong type), 'out_of_range'
 * (outside min/max or not one of the enum values) or 'not_settable' (read-only parameter).
 * `instrumentId` prefixes the message ("pm1: wavelength_nm must be ...").
 */
export function validateParamValue(decl: ParamDecl, value: unknown, instrumentId?: string): ParamValue {
  const who = instrumentId ? `${instrumentId}: ` : '';
  const name = `${who}${decl.name}`;
  const got = `(got ${show(value)})`;
  if (decl.settable === 'never') {
    throw new DaqError('not_settable', `${name} is read-only and cannot be set`, { details: { param: decl.name } });
  }
  const details = { param: decl.name, value: jsonSafe(value) };
  switch (decl.type) {
    case 'number':
    case 'integer': {
      const n = toNumber(value);
      const kind = decl.type === 'integer' ? 'an integer' : 'a number';
      if (n === undefined || (decl.type === 'integer' && !Number.isInteger(n))) {
        throw new DaqError('invalid_params', `${name} must be ${kind}${rangeText(decl)} ${got}`, { details });
      }
      if ((decl.min !== undefined && n < decl.min) || (decl.max !== undefined && n > decl.max)) {
        throw new DaqError('out_of_range', `${name} must be ${kind}${rangeText(decl)} ${got}`, { details });
      }
      return n;
    }
    case 'boolean': {
      const b = toBoolean(value);
      if (b === undefined) throw new DaqError('invalid_params', `${name} must be true or false ${got}`, { details });
      return b;
    }
    case 'string': {
      if (typeof value !== 'string') throw new DaqError('invalid_params', `${name} must be a string ${got}`, { details });
      return value;
    }
    case 'enum': {
      const allowed = decl.values ?? [];
      // Enum values may be numbers (e.g. a Modbus mode code) or strings; a CLI gives strings.
      const match = allowed.find((v) => v === value || (typeof value === 'string' && String(v).toLowerCase() === value.toLowerCase()));
      if (match === undefined) {
        const kind = typeof value === 'string' || typeof value === 'number' ? 'out_of_range' : 'invalid_params';
        throw new DaqError(kind, `${name} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')} ${got}`, { details });
      }
      return match;
    }
  }
}

/**
 * Validates a whole params table (config or a multi-set request): unknown names are refused with the
 * list of known ones. Collects every problem; throws one DaqError listing them all.
 */
export function validateParams(
  decls: readonly ParamDecl[],
  params: Record<string, unknown>,
  instrumentId?: string,
): Record<string, ParamValue> {
  const byName = new Map(decls.map((d) => [d.name, d]));
  const out: Record<string, ParamValue> = {};
  const problems: DaqError[] = [];
  for (const [name, value] of Object.entries(params)) {
    const decl = byName.get(name);
    if (!decl) {
      const known = decls.map((d) => d.name).join(', ') || '(none)';
      problems.push(
        new DaqError('invalid_params', `${instrumentId ? `${instrumentId}: ` : ''}unknown parameter "${name}" (known: ${known})`, {
          details: { param: name },
        }),
      );
      continue;
    }
    try {
      out[name] = validateParamValue(decl, value, instrumentId);
    } catch (err) {
      problems.push(err as DaqError);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    const kind = problems.every((p) => p.kind === problems[0]!.kind) ? problems[0]!.kind : 'invalid_params';
    throw new DaqError(kind, problems.map((p) => p.message).join('; '), {
      details: { problems: problems.map((p) => p.toJSON()) },
    });
  }
  return out;
}

function rangeText(decl: ParamDecl): string {
  const unit = decl.unit ? ` ${decl.unit}` : '';
  if (decl.min !== undefined && decl.max !== undefined) return ` between ${decl.min} and ${decl.max}${unit}`;
  if (decl.min !== undefined) return ` of at least ${decl.min}${unit}`;
  if (decl.max !== undefined) return ` of at most ${decl.max}${unit}`;
  return unit ? ` (${decl.unit})` : '';
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', 'on', 'yes', '1'].includes(v)) return true;
    if (['false', 'off', 'no', '0'].includes(v)) return false;
  }
  if (value === 1) return true;
  if (value === 0) return false;
  return undefined;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function jsonSafe(value: unknown): unknown {
  return value === undefined || typeof value === 'function' ? String(value) : value;
}
