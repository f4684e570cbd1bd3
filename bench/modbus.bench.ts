/**
 * modbus_rtu polling throughput. Simulated buses are paced at their baud rate, so the figure is
 * compared with what the line can carry (RTU needs request + reply bytes per poll); the pymodbus
 * run over an unpaced pty shows the software overhead of the whole stack.
 *
 * Run alone: node --import tsx bench/modbus.bench.ts
 */
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { modbusRtuDriver } from '../src/drivers/modbus_rtu/index.js';
import { ModbusRtuSimulator } from '../src/drivers/modbus_rtu/simulator.js';
import type { DriverInstance } from '../src/drivers/types.js';
import { QueuedLink } from '../src/transport/link.js';
import { SerialTransport } from '../src/transport/serial-transport.js';
import { SimTransport } from '../src/transport/sim-transport.js';
import { DEFAULT_SERIAL, lineRate } from '../src/transport/serial-settings.js';
import type { Link } from '../src/transport/types.js';
import { startPtyPair } from '../test/helpers/pty.js';
import { startPymodbusServer } from '../test/helpers/pymodbus.js';

export interface BenchResult {
  name: string;
  pollsPerSecond: number;
  /** Polls/s the line could carry at most (undefined for an unpaced pty). */
  lineCeiling?: number;
  p50Ms: number;
  p99Ms: number;
}

/** Four input registers (a float32 and two uint16): one 8-byte request, one 13-byte reply. */
const OPTIONS = (slave: number) =>
  modbusRtuDriver.optionsSchema.parse({
    slave_id: slave,
    registers: {
      temp: { function: 'input', address: 0, type: 'float32', unit: 'degC' },
      flow: { function: 'input', address: 2, scale: 0.1 },
      level: { function: 'input', address: 3 },
    },
  });
const BYTES_PER_POLL = 8 + 13;

function instrument(link: Link, slave: number): DriverInstance {
  return modbusRtuDriver.create({ link, config: { id: `mb${slave}`, params: {}, options: OPTIONS(slave) }, log: pino({ level: 'silent' }) });
}

async function measure(name: string, instruments: DriverInstance[], durationMs: number, lineCeiling?: number): Promise<BenchResult> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  const started = performance.now();
  // Each instrument polls back to back, as the daemon's poll loops would; they share the link.
  await Promise.all(
    instruments.map(async (inst) => {
      while (performance.now() < end) {
        const t = performance.now();
        await inst.poll();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2));
  return { name, pollsPerSecond: Math.round(latencies.length / elapsed), lineCeiling, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

async function simulatedBus(baudRate: number, slaves: number[], durationMs: number): Promise<BenchResult> {
  const serial = { ...DEFAULT_SERIAL, baudRate };
  const transport = new SimTransport({ serial, pacing: true });
  for (const slave of slaves) transport.attach(new ModbusRtuSimulator({ id: `mb${slave}`, params: {}, options: OPTIONS(slave) }));
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: lineRate(serial), timeoutMs: 1000 });
  try {
    const ceiling = Math.round(lineRate(serial) / BYTES_PER_POLL);
    return await measure(`sim bus ${baudRate} 8N1, ${slaves.length} slave(s)`, slaves.map((s) => instrument(link, s)), durationMs, ceiling);
  } finally {
    transport.dispose();
  }
}

async function pymodbusOverPty(durationMs: number): Promise<BenchResult> {
  const pty = await startPtyPair();
  const server = await startPymodbusServer(pty.b, [{ id: 1, input: [0x41bc, 0, 123, 456] }]);
  const transport = new SerialTransport(pty.a, DEFAULT_SERIAL);
  try {
    await transport.open();
    const link = new QueuedLink(transport, { lineRate: lineRate(DEFAULT_SERIAL), timeoutMs: 1000 });
    return await measure('pymodbus 3.0 over a pty (unpaced)', [instrument(link, 1)], durationMs);
  } finally {
    await transport.close();
    await server.stop();
    await pty.dispose();
  }
}

export async function run(options: { durationMs?: number } = {}): Promise<BenchResult[]> {
  const durationMs = options.durationMs ?? 2000;
  return [
    await simulatedBus(9600, [1], durationMs),
    await simulatedBus(115200, [1], durationMs),
    await simulatedBus(115200, [1, 2], durationMs),
    await pymodbusOverPty(durationMs),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await run();
  console.table(
    results.map((r) => ({
      ...r,
      '% of line': r.lineCeiling ? `${Math.round((100 * r.pollsPerSecond) / r.lineCeiling)}%` : '-',
    })),
  );
}
