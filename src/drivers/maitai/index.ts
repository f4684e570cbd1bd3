import type { DriverDefinition } from '../types.js';
import { MaiTaiInstrument } from './driver.js';
import { maitaiOptionsSchema, type MaiTaiOptions } from './options.js';
import { MAITAI_PARAMS } from './params.js';
import { MaiTaiSimulator } from './simulator.js';

export const maitaiDriver: DriverDefinition<MaiTaiOptions> = {
  name: 'maitai',
  description: 'Spectra-Physics MaiTai Ti:sapphire laser (emission only switched on behind a closed shutter)',
  serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
  multidrop: false,
  optionsSchema: maitaiOptionsSchema,
  params: () => MAITAI_PARAMS,
  readings: () => [
    { name: 'power_w', type: 'number', description: 'Output power (when the laser reports W or mW)', unit: 'W' },
    { name: 'power_percent', type: 'number', description: 'Output power (when the laser reports percent)', unit: '%' },
    { name: 'wavelength_nm', type: 'number', description: 'Wavelength the laser reports', unit: 'nm' },
    { name: 'shutter', type: 'boolean', description: 'Shutter open (true) or closed (false)' },
    { name: 'emission', type: 'boolean', description: 'Emission as last commanded by daqd since it connected (the laser is not asked; absent until set)' },
  ],
  create: (ctx) => new MaiTaiInstrument(ctx),
  createSimulator: () => new MaiTaiSimulator(),
};
