import type { DriverDefinition } from '../types.js';
import { Ell14Instrument } from './driver.js';
import { ell14OptionsSchema, type Ell14Options } from './options.js';
import { Ell14Simulator } from './simulator.js';

export const ell14Driver: DriverDefinition<Ell14Options> = {
  name: 'ell14',
  description: 'Thorlabs Elliptec ELL14 rotation mount (RS-485 multidrop, address 0-F)',
  serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
  multidrop: true,
  optionsSchema: ell14OptionsSchema,
  busAddress: (options) => options.address,
  params: () => [
    {
      name: 'position_deg',
      kind: 'action',
      type: 'number',
      description:
        'Absolute angle; a set rotates the mount and completes when it has arrived (an action: never turned at start-up or on a reconnect; abortable with st)',
      unit: 'deg',
      min: 0,
      max: 360,
      settable: 'running',
      readBack: true,
    },
  ],
  readings: () => [{ name: 'position_deg', type: 'number', description: 'Angle the mount reports', unit: 'deg' }],
  create: (ctx) => new Ell14Instrument(ctx),
  createSimulator: (config) => new Ell14Simulator({ address: config.options.address }),
};
