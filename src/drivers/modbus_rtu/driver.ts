/**
 * One Modbus RTU slave on a (possibly shared) serial line. Every byte goes through the Link, so a
 * multidrop port's queue and the configured timeout apply to each request.
 */
import { DaqError, isDaqError } from '../../errors.js';
import type { DriverContext, DriverInstance, ParamValue, Readings, ReadingsMeta } from '../types.js';
import { controlPoints, readingPoints, type ControlSpec, type ModbusOptions, type PointSpec } from './options.js';
import {
  decodeReply,
  encodeRequest,
  functionName,
  replyMatcher,
  requestFunctionCode,
  type MasterRequest,
} from './protocol.js';
import { planReads, pointWidth, readFunctionCode, type ReadBlock } from './read-plan.js';
import { rawFromValue, rawToWords, registerWidth, valueFromRaw, wordsToRaw } from './values.js';

type ReadData = { words: number[]; bits: boolean[] };

export class ModbusRtuInstrument implements DriverInstance {
  private readonly slave: number;
  private readonly blocks: ReadBlock[];
  private readonly controls: Map<string, ControlSpec>;
  private readonly who: string;
  /** The declared units of the readings, built once. */
  private readonly meta: ReadingsMeta;

  constructor(private readonly ctx: DriverContext<ModbusOptions>) {
    const options = ctx.config.options;
    this.slave = options.slave_id;
    const points = readingPoints(options);
    this.blocks = planReads(points);
    this.controls = new Map(controlPoints(options).map((c) => [c.name, c]));
    this.who = `${ctx.config.id}: Modbus slave ${this.slave}`;
    const units: Record<string, string> = {};
    for (const p of points) if (p.unit !== undefined) units[p.name] = p.unit;
    this.meta = Object.keys(units).length > 0 ? { units } : {};
  }

  /**
   * Modbus has no identification every device implements, so the check that the slave answers is
   * restoring the setpoints it is given (controls not marked `action`), or else one read. Action
   * controls are never written here, whatever the config holds.
   */
  async init(): Promise<void> {
    const params = this.ctx.config.params;
    let wrote = false;
    for (const [name, control] of this.controls) {
      if (control.action || !Object.hasOwn(params, name)) continue;
      await this.setParam(name, params[name]!);
      wrote = true;
    }
    if (wrote) return;
    if (this.blocks.length > 0) await this.readBlock(this.blocks[0]!);
    else if (this.controls.size > 0) await this.readControl(this.controls.values().next().value!);
  }

  readingsMeta(): ReadingsMeta {
    return this.meta;
  }

  /** Reads the named controls back (holding registers FC 3, coils FC 1); other names are left out. */
  async readParams(names: readonly string[]): Promise<Record<string, ParamValue>> {
    const out: Record<string, ParamValue> = {};
    for (const name of names) {
      const control = this.controls.get(name);
      if (control) out[name] = await this.readControl(control);
    }
    return out;
  }

  async poll(): Promise<Readings> {
    const readings: Readings = {};
    for (const block of this.blocks) {
      const data = await this.readBlock(block);
      for (const point of block.points) readings[point.name] = pointValue(point, block.address, data);
    }
    return readings;
  }

  /** Always writes, even the value the slave already holds, then reads it back. */
  async setParam(name: string, value: ParamValue): Promise<ParamValue> {
    const control = this.controls.get(name);
    if (!control) {
      const known = [...this.controls.keys()].join(', ') || 'none configured';
      throw new DaqError('not_found', `${this.who} has no control '${name}' (controls: ${known})`);
    }
    const write = this.writeRequest(control, value);
    await this.exchange(write, `setting '${name}' to ${String(value)}`);
    return this.readControl(control);
  }

  private async readControl(control: ControlSpec): Promise<ParamValue> {
    const fc = readFunctionCode(control.function);
    const data = await this.exchange(
      { op: 'read', slave: this.slave, fc, address: control.address, count: pointWidth(control) },
      `reading back '${control.name}'`,
    );
    return pointValue(control, control.address, data);
  }

  /** The write for a set, checked completely before anything is sent. */
  private writeRequest(control: ControlSpec, value: ParamValue): MasterRequest {
    // Same kinds as drivers/common/params.ts: a wrong type is invalid_params, a bad number out_of_range.
    const reject = (why: string, kind: 'out_of_range' | 'invalid_params' = 'out_of_range') =>
      new DaqError(kind, `${this.who}: cannot set '${control.name}' to ${JSON.stringify(value)}: ${why}`, {
        details: { instrument: this.ctx.config.id, param: control.name, value, min: control.min, max: control.max },
      });
    if (control.type === 'bool') {
      const bit = typeof value === 'boolean' ? value : value === 1 ? true : value === 0 ? false : undefined;
      if (bit === undefined) throw reject('a coil takes true or false', 'invalid_params');
      return { op: 'writeCoil', slave: this.slave, address: control.address, value: bit };
    }
    if (typeof value !== 'number') throw reject(`expected a number${control.unit ? ` in ${control.unit}` : ''}`, 'invalid_params');
    if ((control.min !== undefined && value < control.min) || (control.max !== undefined && value > control.max)) {
      const unit = control.unit ? ` ${control.unit}` : '';
      throw reject(`allowed range is ${control.min ?? '-inf'}..${control.max ?? '+inf'}${unit}`);
    }
    const converted = rawFromValue(value, control.type, control.scale);
    if ('error' in converted) throw reject(converted.error);
    const words = rawToWords(converted.raw, control.type, control.wordOrder);
    return registerWidth(control.type) === 1
      ? { op: 'writeRegister', slave: this.slave, address: control.address, value: words[0]! }
      : { op: 'writeRegisters', slave: this.slave, address: control.address, values: words };
  }

  private readBlock(block: ReadBlock): Promise<ReadData> {
    const names = block.points.map((p) => `'${p.name}'`).join(', ');
    return this.exchange(
      { op: 'read', slave: this.slave, fc: block.fc, address: block.address, count: block.count },
      `reading ${names}`,
    );
  }

  /** One request/reply on the link, with every failure turned into a DaqError naming what was asked. */
  private async exchange(req: MasterRequest, what: string): Promise<ReadData> {
    const fc = requestFunctionCode(req);
    const span = req.op === 'read' ? `${req.address}..${req.address + req.count - 1}` : `${req.address}`;
    const asked = `${what} (${functionName(fc)}, address ${span})`;
    const details = { instrument: this.ctx.config.id, slaveId: this.slave, functionCode: fc, address: req.address };
    let reply: Buffer | undefined;
    try {
      reply = await this.ctx.link.request({
        write: encodeRequest(req),
        reply: replyMatcher(req),
        label: `slave ${this.slave} FC${fc} @${req.address}`,
      });
    } catch (err) {
      if (isDaqError(err)) {
        // The port hub already starts link errors with the instrument id; say it once.
        const cause = err.message.startsWith(`${this.ctx.config.id}: `) ? err.message.slice(this.ctx.config.id.length + 2) : err.message;
        throw new DaqError(err.kind, `${this.who}: ${asked}: ${cause}`, { cause: err, details: { ...err.details, ...details } });
      }
      throw err;
    }
    if (!reply) throw new DaqError('protocol_error', `${this.who}: ${asked}: the link returned no reply`, { details });
    const result = decodeReply(req, reply);
    if (result.ok) return result;
    if (result.problem === 'exception') {
      throw new DaqError('device_error', `${this.who} refused ${asked}: Modbus exception ${result.code} (${result.name})`, {
        details: { ...details, exceptionCode: result.code, exception: result.name },
      });
    }
    throw new DaqError('protocol_error', `${this.who}: bad reply to ${asked}: ${result.reason}`, { details });
  }
}

function pointValue(point: PointSpec, blockAddress: number, data: ReadData): ParamValue {
  const offset = point.address - blockAddress;
  if (point.type === 'bool') return data.bits[offset]!;
  const words = data.words.slice(offset, offset + registerWidth(point.type));
  return valueFromRaw(wordsToRaw(words, point.type, point.wordOrder), point.type, point.scale);
}
