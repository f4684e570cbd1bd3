/**
 * The driver reference (docs/drivers/reference.md), generated from each driver's own parameter and
 * reading declarations so the docs cannot drift from the code. Drivers whose parameters come from
 * their options (scpi, modbus_rtu) are shown with an example configuration.
 */
import type { DriverDefinition, ParamDecl, ReadingDecl } from './types.js';
import { drivers } from './registry.js';

/** Options to document each driver with (its defaults where they parse). */
const EXAMPLE_OPTIONS: Record<string, unknown> = {
  ell14: { address: '2' },
  esp300: { axes: [1] },
  scpi: {
    channels: { voltage: { query: 'MEAS:VOLT:DC?', unit: 'V' } },
    controls: {
      range: { command: 'VOLT:DC:RANG {value}', query: 'VOLT:DC:RANG?', type: 'number', min: 0.1, max: 1000, unit: 'V' },
      output: { command: 'OUTP {value}', query: 'OUTP?', type: 'boolean', format: 'ON/OFF', action: true, description: 'Source output on (an action: never switched on by a start-up or reconnect)' },
    },
  },
  modbus_rtu: {
    slave_id: 1,
    registers: { temperature: { function: 'input', address: 0, type: 'int16', scale: 0.1, unit: 'degC' } },
    controls: {
      setpoint: { function: 'holding', address: 0, type: 'int16', scale: 0.1, min: 5, max: 35, unit: 'degC' },
      pump: { function: 'coil', address: 0, action: true, description: 'Circulation pump on (an action)' },
    },
  },
};

function range(p: ParamDecl): string {
  if (p.type === 'enum') return (p.values ?? []).map((v) => `\`${v}\``).join(', ');
  if (p.min !== undefined || p.max !== undefined) return `${p.min ?? ''} to ${p.max ?? ''}`;
  return '';
}

function settable(p: ParamDecl): string {
  return p.settable === 'running' ? 'live' : p.settable === 'stopped' ? 'reconnects' : 'read-only';
}

/**
 * `kind`: setpoints are restored from the config at start-up and on every reconnect; actions are
 * performed only on request. `read back`: whether the device can report the value.
 */
function paramRows(params: ParamDecl[]): string[] {
  return [
    '| parameter | type | unit | range / values | settable | kind | read back | description |',
    '|---|---|---|---|---|---|---|---|',
    ...params.map(
      (p) =>
        `| \`${p.name}\` | ${p.type} | ${p.unit ?? ''} | ${range(p)} | ${settable(p)} | ${p.kind} | ${p.readBack ? 'yes' : 'no'} | ${p.description} |`,
    ),
  ];
}

function readingRows(readings: ReadingDecl[]): string[] {
  return ['| reading | type | unit | description |', '|---|---|---|---|', ...readings.map((r) => `| \`${r.name}\` | ${r.type} | ${r.unit ?? ''} | ${r.description} |`)];
}

function section(driver: DriverDefinition): string[] {
  const example = EXAMPLE_OPTIONS[driver.name] ?? {};
  const options = driver.optionsSchema.parse(example);
  const s = driver.serial;
  const lines = [
    `## \`${driver.name}\``,
    '',
    driver.description,
    '',
    `Serial defaults: ${s.baudRate} baud, ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}, flow control ${s.flowControl}.` +
      (driver.multidrop ? ' Multidrop: several may share one port, each at its own bus address.' : ''),
    '',
  ];
  if (Object.keys(example).length > 0) lines.push(`Shown with options \`${JSON.stringify(example)}\`.`, '');
  const params = driver.params(options);
  lines.push(...(params.length ? paramRows(params) : ['No parameters.']), '', ...readingRows(driver.readings(options)), '', `More: [${driver.name}.md](${driver.name}.md).`, '');
  return lines;
}

export function driverReference(): string {
  return [
    '# Driver reference',
    '',
    '<!-- Generated from the drivers\' declarations by `npm run docs:drivers`; a test checks it is current. -->',
    '',
    '**kind**: a *setpoint* is restored from the config at start-up and on every reconnect; an *action* (a move, a shutter, emission) is performed only when someone asks while daqd runs, never at start-up or on a reconnect. **read back**: the device can report the value (a set is confirmed by it, and daqd can read it on demand).',
    '',
    ...[...drivers.values()].flatMap(section),
  ].join('\n');
}
