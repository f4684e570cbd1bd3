/**
 * One driver instance in front of its simulator over a real socat pty pair, through PortHub: the
 * simulator served on one end (serveSimulator), the driver's lease on the other. Unplug kills socat;
 * replug restarts it on the same paths, serves the same simulator again and re-initialises the
 * driver once the port answers (as the instrument actor's reconnect loop would).
 */
import pino from 'pino';
import type { DeviceSimulator, DriverDefinition, DriverInstance, ParamValue } from '../../src/drivers/types.js';
import { PortHub } from '../../src/transport/port-hub.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { startPtyPair, type PtyPair } from './pty.js';

export interface PtyInstrument {
  pty: PtyPair;
  instrument: DriverInstance;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  dispose(): Promise<void>;
}

export interface PtyInstrumentOptions<Options> {
  driver: DriverDefinition<Options>;
  sim: DeviceSimulator;
  id: string;
  /** Raw driver options, parsed by the driver's schema. */
  options: unknown;
  params?: Record<string, ParamValue>;
  /** The link's default reply timeout (PortHub's default if omitted). */
  timeoutMs?: number;
}

/** Retries `attempt` until it resolves or `timeoutMs` has passed (then its last error). */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export async function startPtyInstrument<Options>(o: PtyInstrumentOptions<Options>): Promise<PtyInstrument> {
  const pty = await startPtyPair();
  const serve = () => serveSimulator({ path: pty.b, serial: o.driver.serial, simulators: [o.sim] });
  let server: SimulatorServer | undefined = await serve();
  const hub = new PortHub(o.timeoutMs === undefined ? {} : { defaultTimeoutMs: o.timeoutMs });
  const options = o.driver.optionsSchema.parse(o.options);
  const lease = await hub.acquire({
    instrumentId: o.id,
    port: pty.a,
    serial: o.driver.serial,
    multidrop: o.driver.multidrop,
    busAddress: o.driver.busAddress?.(options),
  });
  const instrument = o.driver.create({ link: lease.link, config: { id: o.id, params: o.params ?? {}, options }, log: pino({ level: 'silent' }) });
  await instrument.init();
  return {
    pty,
    instrument,
    async unplug() {
      await server?.close();
      server = undefined;
      await pty.kill();
    },
    async replug() {
      await pty.restart();
      server = await serve();
      await eventually(() => instrument.init(), 3000);
    },
    async dispose() {
      await hub.closeAll();
      await server?.close();
      o.sim.dispose();
      await pty.dispose();
    },
  };
}
