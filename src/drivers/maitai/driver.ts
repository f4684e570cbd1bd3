import { DaqError, describeError } from '../../errors.js';
import { frameText, lineReply } from '../../transport/framing.js';
import type { DriverContext, DriverInstance, ParamValue, Readings } from '../types.js';
import { HOST_TERMINATOR, REPLY_TERMINATOR, parsePower, parseShutter, parseWavelength } from './protocol.js';
import type { MaiTaiOptions } from './options.js';
import { setpointsToRestore } from '../common/kinds.js';
import { MAITAI_PARAMS } from './params.js';

const LF_LINE = lineReply(REPLY_TERMINATOR);

export class MaiTaiInstrument implements DriverInstance {
  /** What we last commanded: the laser has no query for emission that we rely on. */
  private emission: boolean | undefined;

  constructor(private readonly ctx: DriverContext<MaiTaiOptions>) {}

  private get id(): string {
    return this.ctx.config.id;
  }

  /**
   * Identifies the laser and restores the setpoints it is given (the wavelength). The shutter and
   * emission are actions: never touched here, so a reconnect cannot open the shutter or switch the
   * pump diodes on by itself; the laser keeps whatever state it is in (poll reports the shutter).
   */
  async init(): Promise<void> {
    this.emission = undefined; // after a (re)connect daqd no longer knows what the laser does
    const idn = await this.query('*IDN?');
    if (!/mai\s*tai/i.test(idn)) {
      throw new DaqError('protocol_error', `${this.id}: the device on this port does not identify as a MaiTai (*IDN? replied ${JSON.stringify(idn)})`, {
        details: { raw: idn },
      });
    }
    for (const [name, value] of setpointsToRestore(MAITAI_PARAMS, this.ctx.config.params)) await this.setParam(name, value);
  }

  async poll(): Promise<Readings> {
    const readings: Readings = {};
    const power = parsePower(await this.expect('POWER?', parsePower, 'a power such as 3.00W, 100mW or 50%'));
    if (power && 'watts' in power) readings.power_w = power.watts;
    else if (power) readings.power_percent = power.percent;
    readings.wavelength_nm = await this.readWavelength();
    readings.shutter = await this.readShutter();
    if (this.emission !== undefined) readings.emission = this.emission;
    return readings;
  }

  /** Always sends the command (even for the state the laser is already in), then confirms it. */
  async setParam(name: string, value: ParamValue): Promise<ParamValue> {
    switch (name) {
      case 'wavelength_nm':
        return this.setWavelength(Number(value));
      case 'shutter':
        return this.setShutter(value === true);
      case 'emission':
        return value === true ? this.switchOn() : this.switchOff();
      default:
        throw new DaqError('not_found', `${this.id}: maitai has no parameter '${name}'`);
    }
  }

  /** WAVELENGTH? and SHUTTER?; emission cannot be asked (left out), nor can names the laser lacks. */
  async readParams(names: readonly string[]): Promise<Record<string, ParamValue>> {
    const out: Record<string, ParamValue> = {};
    for (const name of names) {
      if (name === 'wavelength_nm') out[name] = await this.readWavelength();
      else if (name === 'shutter') out[name] = await this.readShutter();
    }
    return out;
  }

  private async setWavelength(nm: number): Promise<number> {
    await this.send(`WAVELENGTH:${nm}`);
    const reported = await this.readWavelength();
    if (Math.abs(reported - nm) > this.ctx.config.options.wavelength_tolerance_nm) {
      throw new DaqError(
        'device_error',
        `${this.id}: the laser did not take wavelength ${nm} nm; it reports ${reported} nm (outside its tuning range?)`,
        { details: { requested: nm, reported } },
      );
    }
    return reported;
  }

  private async setShutter(open: boolean): Promise<boolean> {
    await this.send(`SHUTTER:${open ? 1 : 0}`);
    const state = await this.readShutter();
    if (state !== open) {
      throw new DaqError('device_error', `${this.id}: the shutter did not ${open ? 'open' : 'close'} (SHUTTER? still reads ${state ? 1 : 0})`, {
        details: { requested: open, reported: state },
      });
    }
    return state;
  }

  /**
   * Safety rule: emission is only switched on behind a closed shutter, confirmed by asking the
   * laser right now. A shutter state we cannot read counts as open.
   */
  private async switchOn(): Promise<boolean> {
    let shutterOpen: boolean | undefined;
    let why = '';
    try {
      shutterOpen = await this.readShutter();
    } catch (err) {
      why = ` (could not read the shutter: ${describeError(err)})`;
    }
    if (shutterOpen !== false) {
      const state = shutterOpen === true ? 'open' : 'unknown';
      throw new DaqError(
        'unsafe',
        `${this.id}: refusing to switch emission on while the shutter is ${state}${why}; close the shutter (set shutter = false) first`,
        { details: { shutter: state } },
      );
    }
    await this.send('ON');
    this.emission = true;
    return true;
  }

  private async switchOff(): Promise<boolean> {
    await this.send('OFF');
    this.emission = false;
    return false;
  }

  private async readWavelength(): Promise<number> {
    return parseWavelength(await this.expect('WAVELENGTH?', parseWavelength, 'a wavelength such as 820nm'))!;
  }

  private async readShutter(): Promise<boolean> {
    return parseShutter(await this.expect('SHUTTER?', parseShutter, '0 or 1'))!;
  }

  private async send(command: string): Promise<void> {
    await this.ctx.link.request({ write: command + HOST_TERMINATOR, label: command });
  }

  private async query(command: string): Promise<string> {
    const frame = await this.ctx.link.request({
      write: command + HOST_TERMINATOR,
      reply: LF_LINE,
      label: command,
      timeoutMs: this.ctx.config.options.reply_timeout_ms,
    });
    return frameText(frame);
  }

  /** Queries and checks the reply parses; returns the raw reply text. */
  private async expect(command: string, parse: (raw: string) => unknown, expected: string): Promise<string> {
    const raw = await this.query(command);
    if (parse(raw) === undefined) {
      throw new DaqError('protocol_error', `${this.id}: unexpected reply to ${command}: ${JSON.stringify(raw)} (expected ${expected})`, {
        details: { command, raw },
      });
    }
    return raw;
  }
}
