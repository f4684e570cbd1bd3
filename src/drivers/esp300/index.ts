import type { DriverDefinition, ParamDecl, ReadingDecl } from '../types.js';
import { Esp300Instrument } from './driver.js';
import { esp300OptionsSchema, type Esp300Options } from './options.js';
import { Esp300Simulator } from './simulator.js';

function axisParams(axis: number): ParamDecl[] {
  return [
    {
      name: `axis${axis}_position`,
      type: 'number',
      description: `Axis ${axis} absolute position; a set moves the stage and completes when motion is done`,
      unit: 'mm',
      settable: 'running',
      readBack: true,
    },
    {
      name: `axis${axis}_velocity`,
      type: 'number',
      description: `Axis ${axis} move velocity (the controller refuses values above the stage's maximum)`,
      unit: 'mm/s',
      min: 0.000001,
      max: 1000,
      settable: 'running',
      readBack: true,
    },
    {
      name: `axis${axis}_acceleration`,
      type: 'number',
      description: `Axis ${axis} acceleration (the controller refuses values above the stage's maximum)`,
      unit: 'mm/s^2',
      min: 0.000001,
      max: 10000,
      settable: 'running',
      readBack: true,
    },
  ];
}

function axisReadings(axis: number): ReadingDecl[] {
  return [
    { name: `axis${axis}_position`, type: 'number', description: `Axis ${axis} actual position`, unit: 'mm' },
    { name: `axis${axis}_moving`, type: 'boolean', description: `Axis ${axis} is in motion (MD? reads 0)` },
  ];
}

export const esp300Driver: DriverDefinition<Esp300Options> = {
  name: 'esp300',
  description: 'Newport ESP300 motion controller (up to 3 axes)',
  serial: { baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'rtscts' },
  multidrop: false,
  optionsSchema: esp300OptionsSchema,
  params: (options) => options.axes.flatMap(axisParams),
  readings: (options) => options.axes.flatMap(axisReadings),
  create: (ctx) => new Esp300Instrument(ctx),
  createSimulator: (config) => new Esp300Simulator({ axes: config.options.axes }),
};
