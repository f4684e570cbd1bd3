import type { DriverDefinition, ReadingDecl } from '../types.js';
import { Esp300Instrument } from './driver.js';
import { esp300OptionsSchema, type Esp300Options } from './options.js';
import { Esp300Simulator } from './simulator.js';
import { esp300Params } from './params.js';

function axisReadings(axis: number): ReadingDecl[] {
  return [
    {
      name: `axis${axis}_position`,
      type: 'number',
      description: `Axis ${axis} actual position (in the unit the controller is set to, SN?; mm unless the reading says otherwise)`,
      unit: 'mm',
    },
    { name: `axis${axis}_moving`, type: 'boolean', description: `Axis ${axis} is in motion (MD? reads 0)` },
  ];
}

export const esp300Driver: DriverDefinition<Esp300Options> = {
  name: 'esp300',
  description: 'Newport ESP300 motion controller (up to 3 axes)',
  serial: { baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'rtscts' },
  multidrop: false,
  optionsSchema: esp300OptionsSchema,
  params: (options) => options.axes.flatMap(esp300Params),
  readings: (options) => options.axes.flatMap(axisReadings),
  create: (ctx) => new Esp300Instrument(ctx),
  createSimulator: (config) => new Esp300Simulator({ axes: config.options.axes }),
};
