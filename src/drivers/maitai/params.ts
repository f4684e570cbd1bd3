import type { ParamDecl } from '../types.js';
import { WAVELENGTH_MAX_NM, WAVELENGTH_MIN_NM } from './protocol.js';

/**
 * The wavelength is a setpoint (restored at start-up and on every reconnect). The shutter and
 * emission are actions: opening the shutter or switching the pump diodes on puts light on the
 * table, so daqd does it only when someone asks while it runs, never on its own at a reconnect.
 */
export const MAITAI_PARAMS: ParamDecl[] = [
  {
    name: 'wavelength_nm',
    kind: 'setpoint',
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
    kind: 'action',
    type: 'boolean',
    description: 'Output shutter: true = open, false = closed (an action: never opened or closed by start-up or a reconnect)',
    settable: 'running',
    readBack: true,
  },
  {
    name: 'emission',
    kind: 'action',
    type: 'boolean',
    description:
      'Laser emission (pump diodes on); switching on is refused unless the shutter is confirmed closed. An action; not read back: the laser is not asked, daqd knows only what it last commanded',
    settable: 'running',
    readBack: false,
  },
];
