/**
 * A bench of simulated instruments on real pseudo-terminals for device-truth tests: each simulator
 * is served on one end of a socat pair, daqd (a real child process) opens the other end as its
 * serial port. Every line each simulator receives is kept (unbounded, unlike the simulators' own
 * recent-lines log), so a test can say exactly what reached the wire and when.
 */
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import type { DeviceSimulator, DriverDefinition } from '../../src/drivers/types.js';
import { startPtyPair, type PtyPair } from '../helpers/pty.js';

export interface WireLine {
  line: string;
  at: number;
}

export interface ServedDevice<Sim extends DeviceSimulator> {
  sim: Sim;
  pty: PtyPair;
  /** Every line the device received, with the time it arrived (performance.now()). */
  wire: WireLine[];
  /** Lines received since `mark` (an index into wire) matching `pattern`. */
  since(mark: number, pattern: RegExp): WireLine[];
  unplug(): Promise<void>;
  replug(): Promise<void>;
  close(): Promise<void>;
}

/** Wraps `sim.receive` to log every complete line (CR/LF terminated) before the simulator sees it. */
export function recordWire(sim: DeviceSimulator, terminator = /\r?\n|\r/): WireLine[] {
  const wire: WireLine[] = [];
  let pending = '';
  const receive = sim.receive.bind(sim);
  sim.receive = (data: Buffer) => {
    pending += data.toString('latin1');
    const parts = pending.split(terminator);
    pending = parts.pop() ?? '';
    const at = performance.now();
    for (const line of parts) if (line.trim() !== '') wire.push({ line: line.trim(), at });
    receive(data);
  };
  return wire;
}

export async function serveOnPty<Sim extends DeviceSimulator>(driver: DriverDefinition, sim: Sim): Promise<ServedDevice<Sim>> {
  const pty = await startPtyPair();
  const wire = recordWire(sim);
  const serve = () => serveSimulator({ path: pty.b, serial: driver.serial, simulators: [sim] });
  let server: SimulatorServer | undefined = await serve();
  return {
    sim,
    pty,
    wire,
    since: (mark, pattern) => wire.slice(mark).filter((w) => pattern.test(w.line)),
    async unplug() {
      await server?.close();
      server = undefined;
      await pty.kill();
    },
    async replug() {
      await pty.restart();
      server = await serve();
    },
    async close() {
      await server?.close();
      sim.dispose();
      await pty.dispose();
    },
  };
}
