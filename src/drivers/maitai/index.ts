import type { DriverDefinition } from '../types.js';
import { MaiTaiInstrument } from './driver.js';
import { maitaiOptionsSchema, type MaiTaiOptions } from './options.js';
import { WAVELENGTH_MAX_NM, WAVELENGTH_MIN_NM } from './protocol.js';
import { MaiTaiSimulator } from './simulator.js';

export const maitaiDriver: DriverDefinition<MaiTaiOptions> = {
  name: 'maitai',
  description: 'Spectra-Physics MaiTai Ti:sapphire laser (emission only switched on behind a closed shutter)',
  serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
  multidrop: false,
  optionsSchema: maitaiOptionsSchema,
  params: () => [
    {
      name: 'wavelength_nm',
      type: 'number',
      description: 'Tuned wavelength',
      unit: 'nm',
      min: WAVELENGTH_MIN_NM,
      max: WAVELENGTH_MAX_NM,
      settable: 'running',
      readBack: true,
    },
    {
      name: 'shutter',
      type: 'boolean',
      description: 'Output shutter: true = open, false = closed',
      settable: 'running',
      readBack: true,
    },
    {
      name: 'emission',
      type: 'boolean',
      description: 'Laser emission (pump diodes on); switching on is refused unless the shutter is confirmed closed',
      settable: 'running',
      readBack: false,
    },
  ],
  readings: () => [
    { name: 'power_w', type: 'number', description: 'Output power (when the laser reports W or mW)', unit: 'W' },
    { name: 'power_percent', type: 'number', description: 'Output power (when the laser reports percent)', unit: '%' },
    { name: 'wavelength_nm', type: 'number', description: 'Wavelength the laser reports', unit: 'nm' },
    { name: 'shutter', type: 'boolean', description: 'Shutter open (true) or closed (false)' },
    { name: 'emission', type: 'boolean', description: 'Emission as last commanded by daqd (the laser is not asked)' },
  ],
  create: (ctx) => new MaiTaiInstrument(ctx),
  createSimulator: () => new MaiTaiSimulator(),
};
