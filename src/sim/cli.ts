/**
 * Serve a simulated instrument on a serial path so a person can point daqd (or a terminal program)
 * at it:
 *
 *   socat pty,raw,echo=0,link=/tmp/dev-a pty,raw,echo=0,link=/tmp/dev-b &
 *   node --import tsx src/sim/cli.ts --driver newport_1830c --port /tmp/dev-b --option sim.power_w=1e-3
 *   # config: port = "/tmp/dev-a"
 *
 * Or take the instrument(s) from a daqd config (several --instrument = a multidrop bus):
 *   node --import tsx src/sim/cli.ts --config config/default.toml --instrument psu --port /tmp/dev-b
 *
 * Or serve it on a TCP port, as a networked instrument (raw SCPI socket) or a serial device server:
 *   node --import tsx src/sim/cli.ts --driver scpi --listen tcp://127.0.0.1:5025
 *   # config: port = "tcp://127.0.0.1:5025"
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { parse as parseToml } from 'smol-toml';
import { describeError, isDaqError } from '../errors.js';
import { getDriver } from '../drivers/registry.js';
import type { DeviceSimulator, DriverDefinition } from '../drivers/types.js';
import { describeSerial } from '../transport/serial-settings.js';
import type { SerialSettings } from '../transport/types.js';
import { serveSimulator } from './serve.js';
import { serveSimulatorTcp } from './serve-tcp.js';
import { parsePortAddress } from '../config/port-path.js';
import { COMMON_INSTRUMENT_KEYS, mergeOptions, parseOptionPairs } from './options.js';

interface CliArgs {
  driver?: string;
  port?: string;
  listen?: string;
  option: string[];
  config?: string;
  instrument: string[];
  baud?: number;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function main(argv: string[]): Promise<void> {
  const program = new Command('daqd-sim')
    .description('Serve daqd device simulators on a serial path (e.g. one end of a socat pty pair) or a TCP port')
    .option('--port <path>', 'serial path to serve on')
    .option('--listen <tcp://host:port>', 'serve on a TCP port instead (port 0: any free port, printed)')
    .option('--driver <name>', 'driver whose simulator to run')
    .option('--option <key=value>', 'driver option (dotted keys for tables, e.g. sim.power_w=1e-3); repeatable', collect, [])
    .option('--config <file>', 'daqd config file to take instrument tables from')
    .option('--instrument <id>', 'instrument id in --config; repeat for a multidrop bus', collect, [])
    .option('--baud <rate>', 'baud rate (default: the driver default or the config)', (v) => Number(v))
    .showHelpAfterError();
  program.parse(argv);
  const args = program.opts<CliArgs>();
  if ((args.port === undefined) === (args.listen === undefined)) throw new Error('give --port PATH (serial) or --listen tcp://HOST:PORT, one of them');

  const overrides = parseOptionPairs(args.option);
  const instruments = args.config ? fromConfig(args.config, args.instrument) : [];
  if (instruments.length === 0) {
    if (!args.driver) throw new Error('give --driver NAME, or --config FILE with --instrument ID');
    instruments.push({ id: 'sim', driver: getDriver(args.driver), options: {}, serial: {} });
  }

  const simulators: DeviceSimulator[] = [];
  let serial: SerialSettings | undefined;
  for (const inst of instruments) {
    const options = inst.driver.optionsSchema.parse(mergeOptions(inst.options, overrides));
    simulators.push(inst.driver.createSimulator({ id: inst.id, params: {}, options }));
    serial ??= { ...inst.driver.serial, ...inst.serial, ...(args.baud ? { baudRate: args.baud } : {}) };
  }
  const names = instruments.map((i) => `${i.id} (${i.driver.name})`).join(', ');
  if (args.listen !== undefined) {
    // Port 0 (any free port) is fine for a server, not for a config: parse it as port 1.
    const anyPort = /:0$/.test(args.listen);
    const address = parsePortAddress(anyPort ? args.listen.replace(/:0$/, ':1') : args.listen);
    if (address.kind !== 'tcp') throw new Error(`--listen takes tcp://host:port (got ${JSON.stringify(args.listen)})`);
    const tcp = await serveSimulatorTcp({ simulators, host: address.host, port: anyPort ? 0 : address.port });
    process.stdout.write(`serving ${names} on ${tcp.address}; Ctrl-C to stop\n`);
    const stopTcp = async () => {
      await tcp.close();
      for (const sim of simulators) sim.dispose();
      process.exit(0);
    };
    process.once('SIGINT', () => void stopTcp());
    process.once('SIGTERM', () => void stopTcp());
    return;
  }
  const port = args.port!;
  const server = await serveSimulator({
    path: port,
    serial,
    simulators,
    onLost: (err) => {
      process.stderr.write(`daqd-sim: lost ${port}${err ? `: ${err.message}` : ''}\n`);
      process.exit(1);
    },
  });
  process.stdout.write(`serving ${names} on ${port} at ${describeSerial(serial!)}; Ctrl-C to stop\n`);

  const stop = async () => {
    await server.close();
    for (const sim of simulators) sim.dispose();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

interface SimInstrument {
  id: string;
  driver: DriverDefinition;
  options: Record<string, unknown>;
  serial: Partial<SerialSettings>;
}

function fromConfig(file: string, ids: string[]): SimInstrument[] {
  const doc = parseToml(readFileSync(file, 'utf8')) as { instruments?: Record<string, Record<string, unknown>> };
  if (ids.length === 0) throw new Error('--config needs at least one --instrument ID');
  return ids.map((id) => {
    const table = doc.instruments?.[id];
    if (!table) throw new Error(`${file}: no [instruments.${id}] table`);
    const driver = getDriver(String(table.driver));
    const options = Object.fromEntries(Object.entries(table).filter(([k]) => !COMMON_INSTRUMENT_KEYS.has(k)));
    const serial: Partial<SerialSettings> = {};
    if (typeof table.baud_rate === 'number') serial.baudRate = table.baud_rate;
    if (typeof table.data_bits === 'number') serial.dataBits = table.data_bits as SerialSettings['dataBits'];
    if (typeof table.parity === 'string') serial.parity = table.parity as SerialSettings['parity'];
    if (typeof table.stop_bits === 'number') serial.stopBits = table.stop_bits as SerialSettings['stopBits'];
    if (typeof table.flow_control === 'string') serial.flowControl = table.flow_control as SerialSettings['flowControl'];
    return { id, driver, options, serial };
  });
}

main(process.argv).catch((err: unknown) => {
  const message = isDaqError(err)
    ? err.message
    : err instanceof z.ZodError
      ? `invalid driver options:\n${z.prettifyError(err)}`
      : describeError(err);
  process.stderr.write(`daqd-sim: ${message}\n`);
  process.exit(1);
});
