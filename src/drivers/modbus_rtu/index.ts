/**
 * `driver = "modbus_rtu"`: a generic Modbus RTU slave described by a register map in the config.
 * See docs/drivers/modbus_rtu.md.
 */
import type { DriverDefinition, ParamDecl, ReadingDecl } from '../types.js';
import { ModbusRtuInstrument } from './driver.js';
import { controlPoints, modbusOptionsSchema, readingPoints, type ModbusOptions, type PointSpec } from './options.js';
import { createModbusSimulator } from './simulator.js';

function describe(point: PointSpec): string {
  if (point.description) return point.description;
  const table = { holding: 'holding register', input: 'input register', coil: 'coil', discrete: 'discrete input' }[point.function];
  return point.type === 'bool' ? `${table} ${point.address}` : `${table} ${point.address} (${point.type}${point.scale !== 1 ? `, x${point.scale}` : ''})`;
}

export const modbusRtuDriver: DriverDefinition<ModbusOptions> = {
  name: 'modbus_rtu',
  description: 'Generic Modbus RTU slave (register map from the config); several may share one RS-485 port',
  // 9600 8N1 is what most lab devices ship with; the Modbus serial spec's own default is 19200 8E1.
  serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' },
  multidrop: true,
  optionsSchema: modbusOptionsSchema,
  busAddress: (options) => String(options.slave_id),
  params(options): ParamDecl[] {
    return controlPoints(options).map((c) => ({
      name: c.name,
      kind: c.action ? ('action' as const) : ('setpoint' as const),
      type: c.type === 'bool' ? 'boolean' : c.type === 'float32' || !Number.isInteger(c.scale) ? 'number' : 'integer',
      description: c.action ? `${describe(c)} (an action: written only on request, never at start-up)` : describe(c),
      unit: c.unit,
      min: c.min,
      max: c.max,
      settable: 'running',
      readBack: true,
    }));
  },
  readings(options): ReadingDecl[] {
    return readingPoints(options).map((p) => ({
      name: p.name,
      type: p.type === 'bool' ? 'boolean' : 'number',
      description: describe(p),
      unit: p.unit,
    }));
  },
  create: (ctx) => new ModbusRtuInstrument(ctx),
  createSimulator: (config) => createModbusSimulator(config),
};
