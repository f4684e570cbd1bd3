/**
 * Generic SCPI instrument over serial or TCP (a raw SCPI socket, port 5025): channels (readings)
 * and controls (settable params) come from the config, so a new SCPI instrument needs no code.
 * Channels may answer with IEEE 488.2 definite-length blocks (./block.ts); controls may declare
 * `opc = true` to wait for *OPC? after their command. See ./options.ts for the keys.
 */
import { DaqError } from '../../errors.js';
import type { DriverContext, DriverDefinition, DriverInstance, ParamDecl, ParamValue, Readings, ReadingDecl, ReadingFlag, ReadingsMeta } from '../types.js';
import { LineChannel } from '../common/line-protocol.js';
import { parseDeviceNumber, protocolError } from '../common/numbers.js';
import { validateParamValue } from '../common/params.js';
import { setpointsToRestore } from '../common/kinds.js';
import { scpiOptionsSchema, type ScpiChannel, type ScpiControl, type ScpiOptions } from './options.js';
import { ERROR_QUERY, IDN, fillCommand, formatValue, parseBoolean, parseErrorReply, unquote } from './protocol.js';
import { ScpiSimulator } from './simulator.js';
import { blockReply, decodeBlock, decodeSamples, reduceSamples } from './block.js';
import type { FrameMatcher } from '../../transport/types.js';

/** What *OPC? answers once the operations in progress are complete. */
const OPC_QUERY = '*OPC?';

/** Bound on SYST:ERR? reads when draining the queue (a broken device could answer forever). */
const MAX_ERROR_READS = 25;

/**
 * SCPI's reserved numbers (SCPI-99 vol. 1, 7.2.1.5): 9.9E37 is "infinity", what an instrument
 * returns for a reading beyond its range (-9.9E37 below it); 9.91E37 is "not a number" (no valid
 * measurement).
 */
const SCPI_INFINITY = 9.9e37;
const SCPI_NAN = 9.91e37;

function flagOf(value: number): ReadingFlag | undefined {
  if (Math.abs(value - SCPI_NAN) < 1e33) return 'invalid';
  if (Math.abs(value) >= SCPI_INFINITY * (1 - 1e-9)) return 'over_range';
  return undefined;
}

function paramDecls(options: ScpiOptions): ParamDecl[] {
  return Object.entries(options.controls).map(([name, c]) => ({
    name,
    kind: c.action ? ('action' as const) : ('setpoint' as const),
    type: c.type,
    description: c.description ?? `Set with "${c.command}"${c.query ? `, read with "${c.query}"` : ''}`,
    unit: c.unit,
    min: c.min,
    max: c.max,
    values: c.values,
    settable: 'running' as const,
    readBack: c.query !== undefined,
  }));
}

function readingDecls(options: ScpiOptions): ReadingDecl[] {
  return Object.entries(options.channels).map(([name, ch]) => ({
    name,
    type: ch.type === 'block' ? (ch.block_format === 'text' ? ('string' as const) : ('number' as const)) : ch.type,
    description: ch.description ?? `Reply to "${ch.query}"`,
    unit: ch.unit,
  }));
}

class ScpiInstrument implements DriverInstance {
  private readonly io: LineChannel;
  private readonly id: string;
  private readonly options: ScpiOptions;
  private readonly decls: ParamDecl[];
  /** Declared channel units, built once; flags are added only for a poll that needs them. */
  private readonly unitsMeta: ReadingsMeta;
  private meta: ReadingsMeta;
  /** Built on the first block channel's poll. */
  private blockMatcher: FrameMatcher | undefined;

  constructor(private readonly ctx: DriverContext<ScpiOptions>) {
    // Options may come unparsed (tests, tools): apply the schema's defaults here too.
    this.options = scpiOptionsSchema.parse(ctx.config.options);
    this.io = new LineChannel(ctx.link, { writeTerminator: this.options.terminator, readTerminator: this.options.terminator });
    this.id = ctx.config.id;
    this.decls = paramDecls(this.options);
    const units: Record<string, string> = {};
    for (const [name, ch] of Object.entries(this.options.channels)) if (ch.unit !== undefined) units[name] = ch.unit;
    this.unitsMeta = Object.keys(units).length > 0 ? { units } : {};
    this.meta = this.unitsMeta;
  }

  async init(): Promise<void> {
    const idn = await this.io.query(IDN);
    const wanted = this.options.idn_contains;
    if (wanted !== undefined && !idn.toLowerCase().includes(wanted.toLowerCase())) {
      throw new DaqError(
        'protocol_error',
        `${this.id}: *IDN? answered ${JSON.stringify(idn)}, which does not contain ${JSON.stringify(wanted)}; is the right instrument on this port?`,
        { details: { idn, idn_contains: wanted } },
      );
    }
    // Errors left from before we connected must not be blamed on our first set.
    if (this.options.check_errors) await this.drainErrors();
    // Controls declared `action = true` are never sent here, whatever the config holds.
    for (const [name, value] of setpointsToRestore(this.decls, this.ctx.config.params)) await this.setParam(name, value);
  }

  async poll(): Promise<Readings> {
    const readings: Readings = {};
    let flags: Record<string, ReadingFlag> | undefined;
    for (const [name, ch] of Object.entries(this.options.channels)) {
      const value = ch.type === 'block' ? await this.readBlock(ch) : this.parseChannel(ch, await this.io.query(ch.query, ch.timeout_ms));
      readings[name] = value;
      const flag = typeof value === 'number' ? flagOf(value) : undefined;
      if (flag) (flags ??= {})[name] = flag;
    }
    this.meta = flags ? { ...this.unitsMeta, flags } : this.unitsMeta;
    return readings;
  }

  /** The declared units, and `over_range` / `invalid` for SCPI's 9.9E37 / 9.91E37 replies. */
  readingsMeta(): ReadingsMeta {
    return this.meta;
  }

  /** The query of each named control that has one; controls without a query are left out. */
  async readParams(names: readonly string[]): Promise<Record<string, ParamValue>> {
    const out: Record<string, ParamValue> = {};
    for (const name of names) {
      const control = Object.hasOwn(this.options.controls, name) ? this.options.controls[name] : undefined;
      if (control?.query) out[name] = await this.readControl(control);
    }
    return out;
  }

  /** Always sends the command, even for the value the device already holds. */
  async setParam(name: string, value: ParamValue): Promise<ParamValue> {
    const control = Object.hasOwn(this.options.controls, name) ? this.options.controls[name] : undefined;
    const decl = this.decls.find((d) => d.name === name);
    if (!control || !decl) {
      throw new DaqError('invalid_params', `${this.id}: unknown parameter "${name}" (known: ${this.decls.map((d) => d.name).join(', ') || 'none'})`);
    }
    const v = validateParamValue(decl, value, this.id);
    const command = fillCommand(control.command, formatValue(control, v));
    await this.io.send(command);
    if (control.opc) await this.waitComplete(command, control.opc_timeout_ms);
    if (this.options.check_errors) {
      const errors = await this.drainErrors();
      if (errors.length > 0) {
        throw new DaqError('device_error', `${this.id}: device refused ${JSON.stringify(command)}: ${errors.join('; ')}`, {
          details: { command, errors },
        });
      }
    }
    if (!control.query) return v;
    return this.readBack(name, control, v);
  }

  private async readBack(name: string, control: ScpiControl, wanted: ParamValue): Promise<ParamValue> {
    const got = await this.readControl(control);
    // Numbers are not compared with what was sent: instruments round to their resolution, and the
    // device's value is the truth we report.
    if (control.type !== 'boolean' && control.type !== 'enum') return got;
    if (got !== wanted) {
      throw new DaqError('device_error', `${this.id}: ${name} reads back ${JSON.stringify(got)} after setting ${JSON.stringify(wanted)}`, {
        details: { param: name, wanted, got },
      });
    }
    return got;
  }

  /** Asks the control's query and decodes the reply as the control's type. */
  private async readControl(control: ScpiControl): Promise<ParamValue> {
    const reply = await this.io.query(control.query!);
    const at = { instrumentId: this.id, exchange: control.query! };
    switch (control.type) {
      case 'boolean': {
        const b = parseBoolean(reply);
        if (b === undefined) throw protocolError(at, reply, '1/0 or ON/OFF');
        return b;
      }
      case 'enum': {
        const text = unquote(reply);
        const match = control.values!.find((v) => String(v).toUpperCase() === text.toUpperCase());
        if (match === undefined) throw protocolError(at, reply, `one of ${control.values!.join(', ')}`);
        return match;
      }
      default: {
        const n = parseDeviceNumber(reply, at);
        return control.type === 'integer' ? Math.round(n) : n;
      }
    }
  }

  private parseChannel(ch: ScpiChannel, reply: string): ParamValue {
    const at = { instrumentId: this.id, exchange: ch.query };
    if (ch.type === 'string') return unquote(reply);
    if (ch.type === 'boolean') {
      const b = parseBoolean(reply);
      if (b === undefined) throw protocolError(at, reply, '1/0 or ON/OFF');
      return b;
    }
    return parseDeviceNumber(reply, at);
  }

  /** *OPC? after `command`: the instrument answers 1 once everything it started has finished. */
  private async waitComplete(command: string, timeoutMs: number): Promise<void> {
    const reply = await this.io.query(OPC_QUERY, timeoutMs);
    if (reply.trim() !== '1' && reply.trim() !== '+1') {
      throw protocolError({ instrumentId: this.id, exchange: `${OPC_QUERY} after ${command}` }, reply, '1 (operation complete)');
    }
  }

  /** A block channel: the whole block (however it is split on the wire), decoded and reduced. */
  private async readBlock(ch: ScpiChannel): Promise<ParamValue> {
    this.blockMatcher ??= blockReply(this.options.terminator);
    const frame = await this.ctx.link.request({
      write: ch.query + this.options.terminator,
      reply: this.blockMatcher,
      label: ch.query,
      timeoutMs: ch.timeout_ms,
    });
    const at = { instrumentId: this.id, exchange: ch.query };
    const data = decodeBlock(frame ?? Buffer.alloc(0), at);
    const format = ch.block_format ?? 'real32';
    if (format === 'text') return data.toString('latin1');
    try {
      return reduceSamples(decodeSamples(data, format, ch.byte_order ?? 'big'), ch.reduce ?? 'mean');
    } catch (err) {
      if (err instanceof DaqError) throw new DaqError(err.kind, `${this.id}: reply to ${ch.query}: ${err.message}`, { details: { exchange: ch.query } });
      throw err;
    }
  }

  /** Reads SYST:ERR? until "0,..." and returns the errors it held. */
  private async drainErrors(): Promise<string[]> {
    const errors: string[] = [];
    for (let i = 0; i < MAX_ERROR_READS; i++) {
      const reply = await this.io.query(ERROR_QUERY);
      const parsed = parseErrorReply(reply);
      if (!parsed) throw protocolError({ instrumentId: this.id, exchange: ERROR_QUERY }, reply, 'an error code and message like 0,"No error"');
      if (parsed.code === 0) return errors;
      errors.push(`${parsed.code},"${parsed.message}"`);
    }
    throw new DaqError('device_error', `${this.id}: the error queue did not empty after ${MAX_ERROR_READS} reads of ${ERROR_QUERY}`, {
      details: { errors },
    });
  }
}

export const driver: DriverDefinition<ScpiOptions> = {
  name: 'scpi',
  description: 'Generic SCPI instrument over serial or TCP (port 5025): readings (incl. binary blocks) and settable params from the config',
  serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
  multidrop: false,
  optionsSchema: scpiOptionsSchema,
  params: paramDecls,
  readings: readingDecls,
  create: (ctx) => new ScpiInstrument(ctx),
  createSimulator: (config) => new ScpiSimulator(scpiOptionsSchema.parse(config.options)),
};
