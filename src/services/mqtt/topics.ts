/**
 * MQTT topics and payloads (docs/mqtt.md, CONTRACT §3a). `<root>` is `<base_topic>/<host>`
 * (default `daqd/<host name>`):
 *
 *   <root>/status                      retained "online" / "offline" (birth and last will)
 *   <root>/<instrument>                {"ts": ISO, "seq": n, "<reading>": value, ...}  (not retained)
 *   <root>/<instrument>/<reading>      a bare value per reading (bare_values = true)
 *   <root>/<instrument>/state          retained: connecting | ready | error | disabled | stopping | stopped
 *   <root>/<instrument>/params         retained: {"<param>": value, ...} (what the device confirmed)
 *   <root>/<instrument>/set/<param>    command (commands = true): a bare value
 *   <root>/<instrument>/set/<param>/result   {"ok": true, "result": ...} | {"ok": false, "error": {...}}
 *   <root>/request/<method>            command: JSON params (optional "transaction")
 *   <root>/response/<method>           {"result": ...} | {"error": {...}}, with the request's
 *                                      correlation data (MQTT 5) and its "transaction"
 */
import { hostname } from 'node:os';
import type { ParamValue } from '../../drivers/types.js';
import { NUMERIC_TEXT } from '../../drivers/common/params.js';

/** The machine's host name as a topic level (no "/", "+", "#"; dots kept). */
export function defaultHost(): string {
  return hostname().replace(/[/+#\s]/g, '_') || 'localhost';
}

export class Topics {
  constructor(readonly root: string) {}
  get status(): string {
    return `${this.root}/status`;
  }
  readings(instrument: string): string {
    return `${this.root}/${instrument}`;
  }
  reading(instrument: string, reading: string): string {
    return `${this.root}/${instrument}/${reading}`;
  }
  state(instrument: string): string {
    return `${this.root}/${instrument}/state`;
  }
  params(instrument: string): string {
    return `${this.root}/${instrument}/params`;
  }
  set(instrument: string, param: string): string {
    return `${this.root}/${instrument}/set/${param}`;
  }
  get setFilter(): string {
    return `${this.root}/+/set/+`;
  }
  get requestFilter(): string {
    return `${this.root}/request/+`;
  }
  response(method: string): string {
    return `${this.root}/response/${method}`;
  }
  /** What an incoming topic asks for, or undefined. */
  parse(topic: string): { kind: 'set'; instrument: string; param: string } | { kind: 'request'; method: string } | undefined {
    if (!topic.startsWith(this.root + '/')) return undefined;
    const parts = topic.slice(this.root.length + 1).split('/');
    if (parts.length === 3 && parts[1] === 'set') return { kind: 'set', instrument: parts[0]!, param: parts[2]! };
    if (parts.length === 2 && parts[0] === 'request') return { kind: 'request', method: parts[1]! };
    return undefined;
  }
}

/** The JSON payload of one reading event. */
export function readingPayload(ts: string, seq: number, values: Readonly<Record<string, ParamValue>>): string {
  return JSON.stringify({ ts, seq, ...values });
}

/** A bare value from a /set payload: a number, true/false (also on/off), else the text itself. */
export function parseBareValue(text: string): ParamValue {
  const t = text.trim();
  if (t === '') return t;
  if (NUMERIC_TEXT.test(t)) return Number(t);
  const lower = t.toLowerCase();
  if (lower === 'true' || lower === 'on') return true;
  if (lower === 'false' || lower === 'off') return false;
  if (t.startsWith('"')) {
    try {
      const v = JSON.parse(t);
      if (typeof v === 'string') return v;
    } catch {
      // not JSON: the text as it is
    }
  }
  return t;
}
