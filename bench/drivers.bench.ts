/**
 * Polling throughput per driver over a real pty at the driver's baud rate, against the line-rate
 * limit. A pty has no baud rate of its own, so the simulator on the far end paces bytes at the
 * configured baud in both directions (host->device bytes reach it only after their line time;
 * its replies leave at line speed). The ratio achieved bytes/s : line rate (baud/10 for 8N1) shows
 * how much of the wire the whole stack (driver, link, serialport, pty) manages to use; a
 * request/reply protocol cannot exceed 1, since only one direction is busy at a time.
 *
 * Run alone: node --import tsx bench/drivers.bench.ts
 */
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { DeviceSimulator, DriverDefinition, ParamValue } from '../src/drivers/types.js';
import { esp300Driver } from '../src/drivers/esp300/index.js';
import { maitaiDriver } from '../src/drivers/maitai/index.js';
import { ell14Driver } from '../src/drivers/ell14/index.js';
import { QueuedLink } from '../src/transport/link.js';
import { SerialTransport } from '../src/transport/serial-transport.js';
import { lineRate } from '../src/transport/serial-settings.js';
import { serveSimulator } from '../src/sim/serve.js';
import { startPtyPair } from '../test/helpers/pty.js';

export interface DriverBenchResult {
  name: string;
  baud: number;
  pollsPerSecond: number;
  bytesPerPoll: number;
  bytesPerSecond: number;
  /** Characters per second the line carries (baud/10 for 8N1). */
  lineRate: number;
  /** bytesPerSecond / lineRate. */
  ratio: number;
}

/** Wraps a simulator so its bytes take their line time, and counts them. */
class PacedSimulator implements DeviceSimulator {
  bytesIn = 0;
  bytesOut = 0;
  private inFreeAt = 0;
  private outFreeAt = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly inner: DeviceSimulator,
    private readonly charsPerSecond: number,
  ) {}

  receive(data: Buffer): void {
    this.bytesIn += data.length;
    this.after('in', data.length, () => this.inner.receive(data));
  }

  onSend(listener: (data: Buffer) => void): void {
    this.inner.onSend((data) => {
      this.bytesOut += data.length;
      this.after('out', data.length, () => listener(data));
    });
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.inner.dispose();
  }

  private after(direction: 'in' | 'out', count: number, deliver: () => void): void {
    const now = performance.now();
    const start = Math.max(now, direction === 'in' ? this.inFreeAt : this.outFreeAt);
    const end = start + (count * 1000) / this.charsPerSecond;
    if (direction === 'in') this.inFreeAt = end;
    else this.outFreeAt = end;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      deliver();
    }, end - now);
    this.timers.add(timer);
  }
}

interface Case {
  name: string;
  driver: DriverDefinition;
  /** One entry per instrument on the port (several for a multidrop bus). */
  instruments: { options: Record<string, unknown>; params?: Record<string, ParamValue> }[];
}

async function measure(c: Case, durationMs: number): Promise<DriverBenchResult> {
  const serial = c.driver.serial;
  const rate = lineRate(serial);
  const pty = await startPtyPair();
  const configs = c.instruments.map((inst, i) => ({
    id: `${c.driver.name}${i}`,
    params: inst.params ?? {},
    options: c.driver.optionsSchema.parse(inst.options),
  }));
  const sims = configs.map((config) => new PacedSimulator(c.driver.createSimulator(config), rate));
  const server = await serveSimulator({ path: pty.b, serial, simulators: sims });
  const transport = new SerialTransport(pty.a, serial);
  try {
    await transport.open();
    const link = new QueuedLink(transport, { lineRate: rate, timeoutMs: 2000 });
    const log = pino({ level: 'silent' });
    const instruments = configs.map((config) => c.driver.create({ link, config, log }));
    for (const inst of instruments) await inst.init();
    // On a bus every device hears every request: count the wire's bytes once.
    const wireBytes = () => Math.max(...sims.map((s) => s.bytesIn)) + sims.reduce((n, s) => n + s.bytesOut, 0);
    const bytesBefore = wireBytes();
    let polls = 0;
    const started = performance.now();
    const end = started + durationMs;
    // Every instrument polls back to back, as the daemon's poll loops would; they share the link.
    await Promise.all(
      instruments.map(async (inst) => {
        while (performance.now() < end) {
          await inst.poll();
          polls++;
        }
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    const bytes = wireBytes() - bytesBefore;
    const bytesPerSecond = bytes / elapsedS;
    return {
      name: c.name,
      baud: serial.baudRate,
      pollsPerSecond: Number((polls / elapsedS).toFixed(1)),
      bytesPerPoll: Number((bytes / polls).toFixed(1)),
      bytesPerSecond: Math.round(bytesPerSecond),
      lineRate: Math.round(rate),
      ratio: Number((bytesPerSecond / rate).toFixed(3)),
    };
  } finally {
    await transport.close();
    await server.close();
    for (const sim of sims) sim.dispose();
    await pty.dispose();
  }
}

/** Drivers other engineers own, benchmarked when they exist and build with default options. */
export const skipped: string[] = [];

async function optionalCases(): Promise<Case[]> {
  const cases: Case[] = [];
  const candidates: { name: string; path: string; options: Record<string, unknown> }[] = [
    { name: 'newport_1830c', path: '../src/drivers/newport_1830c/index.js', options: {} },
    {
      name: 'scpi (1 channel)',
      path: '../src/drivers/scpi/index.js',
      options: { channels: { volts: { query: 'MEAS:VOLT:DC?', unit: 'V' } }, sim: { values: { volts: 1.5 } } },
    },
  ];
  for (const candidate of candidates) {
    try {
      const mod = (await import(candidate.path)) as Record<string, unknown>;
      const driver = Object.values(mod).find(
        (v): v is DriverDefinition => typeof v === 'object' && v !== null && 'createSimulator' in v && 'optionsSchema' in v,
      );
      if (!driver) {
        skipped.push(`${candidate.name}: no driver definition exported`);
        continue;
      }
      if (!driver.optionsSchema.safeParse(candidate.options).success) {
        skipped.push(`${candidate.name}: needs options this bench does not know`);
        continue;
      }
      cases.push({ name: candidate.name, driver, instruments: [{ options: candidate.options }] });
    } catch (err) {
      skipped.push(`${candidate.name}: not loadable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    }
  }
  return cases;
}

export async function run(options: { durationMs?: number } = {}): Promise<DriverBenchResult[]> {
  const durationMs = options.durationMs ?? 2000;
  const cases: Case[] = [
    { name: 'esp300 (1 axis)', driver: esp300Driver, instruments: [{ options: { axes: [1] } }] },
    { name: 'esp300 (3 axes)', driver: esp300Driver, instruments: [{ options: { axes: [1, 2, 3] } }] },
    { name: 'maitai', driver: maitaiDriver, instruments: [{ options: {} }] },
    { name: 'ell14', driver: ell14Driver, instruments: [{ options: { address: '2' } }] },
    { name: 'ell14 x2 on one bus', driver: ell14Driver, instruments: [{ options: { address: '2' } }, { options: { address: '3' } }] },
    ...(await optionalCases()),
  ];
  const results: DriverBenchResult[] = [];
  for (const c of cases) results.push(await measure(c, durationMs));
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
  for (const line of skipped) console.log(`skipped ${line}`);
}
