/** Newport 1830-C optical power meter (RS-232). Protocol details in ./protocol.ts. */
import { z } from 'zod';
import { DaqError } from '../../errors.js';
import type { DriverContext, DriverDefinition, DriverInstance, ParamDecl, ParamValue, Readings, ReadingDecl } from '../types.js';
import { LineChannel } from '../common/line-protocol.js';
import { parseDeviceInteger, parseDeviceNumber, protocolError } from '../common/numbers.js';
import { validateParamValue } from '../common/params.js';
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
    type: 'integer',
    description: 'Wavelength the detector calibration is taken at',
    unit: 'nm',
    min: WAVELENGTH_MIN_NM,
    max: WAVELENGTH_MAX_NM,
    settable: 'running',
    readBack: true,
  },
  { name: 'attenuator', type: 'boolean', description: 'Detector attenuator (OD3) in place', settable: 'running', readBack: true },
  {
    name: 'filter',
    type: 'enum',
    description: 'Averaging: slow = 16 readings, medium = 4, fast = none',
    values: FILTERS,
    settable: 'running',
    readBack: true,
  },
  { name: 'units', type: 'enum', description: 'Units of the power reading', values: UNITS, settable: 'running', readBack: true },
];

const READINGS: ReadingDecl[] = [
  { name: 'power', type: 'number', description: 'Optical power, in the units set by `units` (W unless changed)', unit: 'W' },
  { name: 'power_unit', type: 'string', description: 'Unit of `power`: W, dB, dBm or REL' },
];

class Newport1830c implements DriverInstance {
  private readonly io: LineChannel;
  private readonly id: string;
  private units: Units = 'W';
  /** On unless the config says otherwise (options may arrive unparsed from tests). */
  private readonly checksStatus: boolean;

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
    if (this.checksStatus) await this.query(cmd.status); // clear latched errors
    for (const decl of PARAMS) {
      const value = this.ctx.config.params[decl.name];
      if (value !== undefined) await this.setParam(decl.name, value);
    }
  }

  async poll(): Promise<Readings> {
    const power = parseDeviceNumber(await this.query(cmd.power), this.ctx_(cmd.power));
    if (this.checksStatus) await this.checkStatus('reading power', STATUS.saturated | STATUS.outOfRange);
    return { power, power_unit: this.units };
  }

  async setParam(name: string, value: ParamValue): Promise<ParamValue> {
    const decl = PARAMS.find((p) => p.name === name);
    if (!decl) throw new DaqError('invalid_params', `${this.id}: unknown parameter "${name}" (known: ${PARAMS.map((p) => p.name).join(', ')})`);
    const v = validateParamValue(decl, value, this.id);
    switch (name) {
      case 'wavelength_nm':
        await this.io.send(cmd.wavelengthSet(v as number));
        await this.afterSet(name, v);
        return this.confirm(name, v, parseDeviceInteger(await this.query(cmd.wavelengthQuery), this.ctx_(cmd.wavelengthQuery)));
      case 'attenuator': {
        await this.io.send(cmd.attenuatorSet(v as boolean));
        await this.afterSet(name, v);
        const code = parseDeviceInteger(await this.query(cmd.attenuatorQuery), this.ctx_(cmd.attenuatorQuery));
        if (code !== 0 && code !== 1) throw protocolError(this.ctx_(cmd.attenuatorQuery), String(code), '0 or 1');
        return this.confirm(name, v, code === 1);
      }
      case 'filter': {
        await this.io.send(cmd.filterSet(v as Filter));
        await this.afterSet(name, v);
        const reply = await this.query(cmd.filterQuery);
        const filter = filterFromCode(parseDeviceInteger(reply, this.ctx_(cmd.filterQuery)));
        if (!filter) throw protocolError(this.ctx_(cmd.filterQuery), reply, '1, 2 or 3');
        return this.confirm(name, v, filter);
      }
      default: {
        await this.io.send(cmd.unitsSet(v as Units));
        await this.afterSet(name, v);
        const reply = await this.query(cmd.unitsQuery);
        const units = unitsFromCode(parseDeviceInteger(reply, this.ctx_(cmd.unitsQuery)));
        if (!units) throw protocolError(this.ctx_(cmd.unitsQuery), reply, '1 to 4');
        this.units = units;
        return this.confirm(name, v, units);
      }
    }
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

  private ctx_(exchange: string) {
    return { instrumentId: this.id, exchange };
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
