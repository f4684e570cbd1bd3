/** Shared set-up for the modbus_rtu tests: an instrument from TOML-shaped options on a Link. */
import { pino } from 'pino';
import { modbusRtuDriver } from '../../src/drivers/modbus_rtu/index.js';
import type { ModbusOptions } from '../../src/drivers/modbus_rtu/options.js';
import type { DriverInstance, ParamValue } from '../../src/drivers/types.js';
import type { Exchange, Link } from '../../src/transport/types.js';

/** A link that records every exchange handed to it, so tests can tell whether bytes were sent. */
export function countingLink(inner: Link): Link & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  return {
    sent,
    lineRate: inner.lineRate,
    request(exchange: Exchange) {
      sent.push(Buffer.from(exchange.write as Buffer));
      return inner.request(exchange);
    },
  };
}

export function makeInstrument(
  link: Link,
  rawOptions: unknown,
  params: Record<string, ParamValue> = {},
  id = 'mb1',
): DriverInstance {
  const options: ModbusOptions = modbusRtuDriver.optionsSchema.parse(rawOptions);
  return modbusRtuDriver.create({ link, config: { id, params, options }, log: pino({ level: 'silent' }) });
}

/** The register map used against both pymodbus and the built-in simulator. */
export const MAP = {
  registers: {
    s16: { function: 'holding', address: 0, type: 'int16' },
    u16: { function: 'holding', address: 1, type: 'uint16' },
    s32: { function: 'holding', address: 2, type: 'int32' },
    f32_big: { function: 'holding', address: 4, type: 'float32', word_order: 'big', unit: 'degC' },
    f32_little: { function: 'holding', address: 6, type: 'float32', word_order: 'little' },
    scaled: { function: 'holding', address: 8, type: 'uint16', scale: 0.1, unit: 'degC' },
    u32: { function: 'holding', address: 10, type: 'uint32' },
    s32_little: { function: 'holding', address: 12, type: 'int32', word_order: 'little' },
    in_scaled: { function: 'input', address: 0, type: 'int16', scale: 0.01, unit: 'V' },
    in_f32: { function: 'input', address: 1, type: 'float32' },
    in_f32_little: { function: 'input', address: 3, type: 'float32', word_order: 'little', unit: 'Pa' },
    pump_on: { function: 'coil', address: 1 },
    door: { function: 'discrete', address: 0 },
  },
  controls: {
    setpoint: { function: 'holding', address: 9, type: 'uint16', scale: 0.1, min: 0, max: 100, unit: 'degC' },
    offset32: { function: 'holding', address: 12, type: 'int32', word_order: 'little' },
    pump: { function: 'coil', address: 0 },
  },
};

/** Raw words for MAP, written by hand from the IEEE-754 / two's complement encodings. */
export const HOLDING = [
  0xfb2e, // -1234 int16
  51234, // uint16
  0xf8a4, 0x32eb, // -123456789 int32, high word first
  0x41bc, 0x0000, // 23.5 float32 big
  0x0000, 0x41bc, // 23.5 float32 little (low word first)
  235, // 23.5 after scale 0.1
  200, // setpoint 20.0 after scale 0.1
  0xee6b, 0x2800, // 4000000000 uint32
  0xfffe, 0xffff, // -2 int32 little
];
export const INPUT = [
  0xfe0c, // -500 -> -5 V after scale 0.01
  0xbfa0, 0x0000, // -1.25 float32 big
  0x5000, 0x447d, // 1013.25 float32 little
];
export const COILS = [false, true, false];
export const DISCRETE = [true, false];

export const EXPECTED_READINGS = {
  s16: -1234,
  u16: 51234,
  s32: -123456789,
  f32_big: 23.5,
  f32_little: 23.5,
  scaled: 23.5,
  u32: 4000000000,
  s32_little: -2,
  in_scaled: -5,
  in_f32: -1.25,
  in_f32_little: 1013.25,
  pump_on: true,
  door: true,
};
