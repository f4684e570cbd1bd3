/**
 * Home Assistant MQTT device discovery (one retained message per instrument on
 * `<prefix>/device/<node>/config`), generated from the driver's declarations:
 * - every numeric reading a `sensor` with its unit and `state_class: measurement`, its value read
 *   from the instrument's JSON readings topic;
 * - every numeric setpoint settable while running a `number` with min/max (and a command topic
 *   when commands are on), its value from the retained params topic.
 * Availability follows `<root>/status` (the last will says offline).
 */
import type { ReadingDecl, ParamDecl } from '../../drivers/types.js';
import type { Topics } from './topics.js';

export function discoveryId(host: string, instrument: string): string {
  return `daqd_${host}_${instrument}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function discoveryTopic(prefix: string, host: string, instrument: string): string {
  return `${prefix}/device/${discoveryId(host, instrument)}/config`;
}

export function discoveryPayload(opts: {
  host: string;
  instrument: string;
  driver: string;
  description?: string | undefined;
  readings: readonly ReadingDecl[];
  params: readonly ParamDecl[];
  topics: Topics;
  commands: boolean;
  version: string;
}): Record<string, unknown> {
  const id = discoveryId(opts.host, opts.instrument);
  const cmps: Record<string, Record<string, unknown>> = {};
  for (const r of opts.readings) {
    if (r.type !== 'number') continue;
    cmps[`${id}_${r.name}`] = {
      p: 'sensor',
      name: r.name,
      unique_id: `${id}_${r.name}`,
      state_topic: opts.topics.readings(opts.instrument),
      value_template: `{{ value_json.${r.name} }}`,
      state_class: 'measurement',
      ...(r.unit ? { unit_of_measurement: r.unit } : {}),
    };
  }
  for (const p of opts.params) {
    if (p.kind !== 'setpoint' || (p.type !== 'number' && p.type !== 'integer') || p.settable !== 'running') continue;
    cmps[`${id}_${p.name}`] = {
      p: 'number',
      name: p.name,
      unique_id: `${id}_${p.name}`,
      state_topic: opts.topics.params(opts.instrument),
      value_template: `{{ value_json.${p.name} }}`,
      ...(opts.commands ? { command_topic: opts.topics.set(opts.instrument, p.name) } : { mode: 'box', entity_category: 'diagnostic' }),
      ...(p.min !== undefined ? { min: p.min } : {}),
      ...(p.max !== undefined ? { max: p.max } : {}),
      ...(p.type === 'integer' ? { step: 1 } : { step: 'any' }),
      ...(p.unit ? { unit_of_measurement: p.unit } : {}),
    };
  }
  return {
    dev: { ids: [id], name: `${opts.instrument} (${opts.host})`, mf: 'daqd', mdl: opts.driver, ...(opts.description ? { hw: opts.description } : {}) },
    o: { name: 'daqd', sw: opts.version },
    availability_topic: opts.topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
    cmps,
  };
}
