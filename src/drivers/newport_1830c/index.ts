/** Newport 1830-C optical power meter (RS-232). Protocol details in ./protocol.ts. */
import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { DriverContext, DriverDefinition, DriverInstance, ParamDecl, ParamValue, Readings, ReadingDecl, ReadingsMeta } from '../types.js';
import { LineChannel } from '../common/line-protocol.js';
import { parseDeviceInteger, parseDeviceNumber, protocolError } from '../common/numbers.js';
import { validateParamValue } from '../common/params.js';
import { setpointsToRestore } from '../common/kinds.js';
import { Newport1830cSimulator } from './simulator.js';
import {
  FILTERS,
  STATUS,
  UNITS,
  WAVELENGTH_MAX_NM,
  WAVELENGTH_MIN_NM,
  cmd,
  describeStatus,
  filterFromCode,
  unitsFromCode,
  type Filter,
  type Units,
} from './protocol.js';

const optionsSchema = z.strictObject({
  /** Ask the status byte (Q?) after each reading and set: catches saturation and refused values. */
  check_status: z.boolean().default(true),
  /** Only for port = "sim": the simulated light level and noise. */
  sim: z
    .strictObject({
      power_w: z.number().positive().optional(),
      noise: z.number().min(0).optional(),
    })
    .optional(),
});
export type Newport1830cOptions = z.output<typeof optionsSchema>;

const PARAMS: ParamDecl[] = [
  {
    name: 'wavelength_nm',
    kind: 'setpoint',
    type: 'integer',
    description: 'Wavelength the detector calibration is taken at',
    unit: 'nm',
    min: WAVELENGTH_MIN_NM,
    max: WAVELENGTH_MAX_NM,
    settable: 'running',
    readBack: true,
  },
  {
    name: 'attenuator',
    kind: 'setpoint',
    type: 'boolean',
    description: 'Detector attenuator (OD3) in place (a measurement setting: restored at start-up)',
    settable: 'running',
    readBack: true,
  },
  {
    name: 'filter',
    kind: 'setpoint',
    type: 'enum',
    description: 'Averaging: slow = 16 readings, medium = 4, fast = none',
    values: FILTERS,
    settable: 'running',
    readBack: true,
  },
  {
    name: 'units',
    kind: 'setpoint',
    type: 'enum',
    description: 'Units of the power reading',
    values: UNITS,
    settable: 'running',
    readBack: true,
  },
];

const READINGS: ReadingDecl[] = [
  {
    name: 'power',
    type: 'number',
    description: 'Optical power, in the units set by `units` (W unless changed; the unit in force is sent with each reading)',
    unit: 'W',
  },
  { name: 'power_unit', type: 'string', description: 'Unit of `power`: W, dB, dBm or REL' },
];

type At = { instrumentId: string; exchange: string };

/** How each parameter goes on the wire: its set command, its query, and the reply decoded. */
interface ParamWire {
  set(value: ParamValue): string;
  query: string;
  /** The value in the reply, or undefined if the reply is not one the meter should send. */
  decode(reply: string, at: At): ParamValue | undefined;
  expected: string;
}

const WIRE: ReadonlyMap<string, ParamWire> = new Map<string, ParamWire>([
  ['wavelength_nm', { set: (v) => cmd.wavelengthSet(v as number), query: cmd.wavelengthQuery, decode: (r, at) => parseDeviceInteger(r, at), expected: 'an integer' }],
  [
    'attenuator',
    {
      set: (v) => cmd.attenuatorSet(v as boolean),
      query: cmd.attenuatorQuery,
      decode: (r, at) => bit(parseDeviceInteger(r, at)),
      expected: '0 or 1',
    },
  ],
  ['filter', { set: (v) => cmd.filterSet(v as Filter), query: cmd.filterQuery, decode: (r, at) => filterFromCode(parseDeviceInteger(r, at)), expected: '1, 2 or 3' }],
  ['units', { set: (v) => cmd.unitsSet(v as Units), query: cmd.unitsQuery, decode: (r, at) => unitsFromCode(parseDeviceInteger(r, at)), expected: '1 to 4' }],
]);

function bit(code: number): boolean | undefined {
  return code === 1 ? true : code === 0 ? false : undefined;
}

/**
 * Readings meta for every unit, valid and saturated, built once: a poll hands out one of these and
 * allocates nothing.
 */
const META: ReadonlyMap<Units, { valid: ReadingsMeta; saturated: ReadingsMeta }> = new Map(
  UNITS.map((u) => [u, { valid: { units: { power: u } }, saturated: { units: { power: u }, flags: { power: 'saturated' } } }] as const),
);

class Newport1830c implements DriverInstance {
  private readonly io: LineChannel;
  private readonly id: string;
  private units: Units = 'W';
  /** The status byte of the last poll said saturated or out of range. */
  private saturated = false;
  /** On unless the config says otherwise (options may arrive unparsed from tests). */
  private readonly checksStatus: boolean;
  private readonly where = new Map<string, At>();

  constructor(private readonly ctx: DriverContext<Newport1830cOptions>) {
    this.io = new LineChannel(ctx.link, { writeTerminator: '\n', readTerminator: '\n' });
    this.id = ctx.config.id;
    this.checksStatus = ctx.config.options.check_status !== false;
  }

  async init(): Promise<void> {
    // The 1830-C has no *IDN?; a valid answer to U? is the best identification it offers.
    const reply = await this.io.query(cmd.unitsQuery);
    const units = /^\s*\d+\s*$/.test(reply) ? unitsFromCode(Number(reply)) : undefined;
    if (!units) {
      throw new DaqError(
        'protocol_error',
        `${this.id}: the device does not answer like a Newport 1830-C (U? -> ${JSON.stringify(reply)}); check the port and baud rate`,
      );
    }
    this.units = units;
    this.saturated = false;
    if (this.checksStatus) await this.query(cmd.status); // clear latched errors
    // Every parameter of this meter is a setpoint: all of those given are restored.
    for (const [name, value] of setpointsToRestore(PARAMS, this.ctx.config.params)) await this.setParam(name, value);
  }

  /**
   * A saturated or out-of-range detector still gives a reading (the meter shows its ceiling): it is
   * returned flagged `saturated` in readingsMeta, so a safety module sees it as "too much light"
   * instead of losing the reading to an error.
   */
  async poll(): Promise<Readings> {
    const power = parseDeviceNumber(await this.query(cmd.power), this.ctx_(cmd.power));
    if (this.checksStatus) {
      const status = parseDeviceInteger(await this.query(cmd.status), this.ctx_(cmd.status));
      this.saturated = (status & (STATUS.saturated | STATUS.outOfRange)) !== 0;
    }
    return { power, power_unit: this.units };
  }

  readingsMeta(): ReadingsMeta {
    const meta = META.get(this.units)!;
    return this.saturated ? meta.saturated : meta.valid;
  }

  /** Always sends the set command, even for the value the meter already holds, then reads it back. */
  async setParam(name: string, value: ParamValue): Promise<ParamValue> {
    const decl = PARAMS.find((p) => p.name === name);
    const wire = WIRE.get(name);
    if (!decl || !wire) throw new DaqError('invalid_params', `${this.id}: unknown parameter "${name}" (known: ${PARAMS.map((p) => p.name).join(', ')})`);
    const v = validateParamValue(decl, value, this.id);
    await this.io.send(wire.set(v));
    await this.afterSet(name, v);
    return this.confirm(name, v, await this.read(name, wire));
  }

  /** W?, A?, F?, U? for the named parameters; names this meter does not have are left out. */
  async readParams(names: readonly string[]): Promise<Record<string, ParamValue>> {
    const out: Record<string, ParamValue> = {};
    for (const name of names) {
      const wire = WIRE.get(name);
      if (wire) out[name] = await this.read(name, wire);
    }
    return out;
  }

  private async read(name: string, wire: ParamWire): Promise<ParamValue> {
    const reply = await this.query(wire.query);
    const at = this.ctx_(wire.query);
    const value = wire.decode(reply, at);
    if (value === undefined) throw protocolError(at, reply, wire.expected);
    if (name === 'units') this.units = value as Units;
    return value;
  }

  private query(command: string): Promise<string> {
    return this.io.query(command);
  }

  private async afterSet(name: string, value: ParamValue): Promise<void> {
    if (this.checksStatus) {
      await this.checkStatus(`setting ${name} to ${JSON.stringify(value)}`, STATUS.paramError | STATUS.commandError);
    }
  }

  private async checkStatus(doing: string, mask: number): Promise<void> {
    const status = parseDeviceInteger(await this.query(cmd.status), this.ctx_(cmd.status));
    if (status & mask) {
      throw new DaqError('device_error', `${this.id}: meter reports an error while ${doing}: ${describeStatus(status & mask).join('; ')}`, {
        details: { status },
      });
    }
  }

  private confirm(name: string, wanted: ParamValue, got: ParamValue): ParamValue {
    if (got !== wanted) {
      throw new DaqError('device_error', `${this.id}: ${name} reads back ${JSON.stringify(got)} after setting ${JSON.stringify(wanted)}`, {
        details: { param: name, wanted, got },
      });
    }
    return got;
  }

  /** Where a reply came from, for error messages: one per command, made once (polls parse two replies). */
  private ctx_(exchange: string): At {
    let at = this.where.get(exchange);
    if (!at) this.where.set(exchange, (at = { instrumentId: this.id, exchange }));
    return at;
  }
}

export const driver: DriverDefinition<Newport1830cOptions> = {
  name: 'newport_1830c',
  description: 'Newport 1830-C optical power meter (RS-232)',
  serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
  multidrop: false,
  optionsSchema,
  params: () => PARAMS,
  readings: () => READINGS,
  create: (ctx) => new Newport1830c(ctx),
  createSimulator: (config) =>
    new Newport1830cSimulator({ powerW: config.options.sim?.power_w, noise: config.options.sim?.noise }),
};
