/**
 * Puts a driver in front of its simulator two ways, so one test body can run against both:
 *  - 'sim': in process, SimTransport + QueuedLink (no pacing);
 *  - 'pty': through the real serial stack - serveSimulator on one end of a socat pty pair,
 *    SerialTransport + QueuedLink on the other.
 * The simulator object is in this process either way, so tests can steer it (its test-only
 * control API) and look at what it received.
 */
import pino from 'pino';
import type { DeviceSimulator, DriverConfig, DriverDefinition, DriverInstance } from '../../src/drivers/types.js';
import { QueuedLink } from '../../src/transport/link.js';
import { SimTransport } from '../../src/transport/sim-transport.js';
import { SerialTransport } from '../../src/transport/serial-transport.js';
import { lineRate } from '../../src/transport/serial-settings.js';
import type { ByteTransport } from '../../src/transport/types.js';
import { serveSimulator, type SimulatorServer } from '../../src/sim/serve.js';
import { startPtyPair, type PtyPair } from './pty.js';

export type RigKind = 'sim' | 'pty';

export interface DriverRig<Sim extends DeviceSimulator> {
  kind: RigKind;
  driver: DriverInstance;
  sim: Sim;
  link: QueuedLink;
  transport: ByteTransport;
  /** Pull the plug: kill socat (pty) or unplug the SimTransport. */
  unplug(): Promise<void>;
  /** Plug back in on the same path, with the same simulator serving the far end. */
  replug(): Promise<void>;
  dispose(): Promise<void>;
}

export interface RigOptions<Options> {
  definition: DriverDefinition<Options>;
  config: DriverConfig<Options>;
  /**
   * Reply timeout for the link. Generous by default so a loaded machine does not fail healthy
   * exchanges; timeout tests shorten it with rig.link.setDefaultTimeout() right before they need it.
   */
  timeoutMs?: number;
}

export async function startRig<Options, Sim extends DeviceSimulator>(
  kind: RigKind,
  { definition, config, timeoutMs = 3000 }: RigOptions<Options>,
): Promise<DriverRig<Sim>> {
  const sim = definition.createSimulator(config) as Sim;
  const log = pino({ level: 'silent' });
  if (kind === 'sim') {
    const transport = new SimTransport({ serial: definition.serial, pacing: false });
    transport.attach(sim);
    await transport.open();
    const link = new QueuedLink(transport, { lineRate: lineRate(definition.serial), timeoutMs });
    return {
      kind,
      sim,
      link,
      transport,
      driver: definition.create({ link, config, log }),
      async unplug() {
        transport.unplug();
      },
      async replug() {
        transport.replug();
      },
      async dispose() {
        transport.dispose();
      },
    };
  }

  const pty: PtyPair = await startPtyPair();
  let server: SimulatorServer = await serveSimulator({ path: pty.b, serial: definition.serial, simulators: [sim] });
  const transport = new SerialTransport(pty.a, definition.serial);
  await transport.open();
  const link = new QueuedLink(transport, { lineRate: lineRate(definition.serial), timeoutMs });
  return {
    kind,
    sim,
    link,
    transport,
    driver: definition.create({ link, config, log }),
    async unplug() {
      await pty.kill();
    },
    async replug() {
      await server.close();
      await pty.restart();
      server = await serveSimulator({ path: pty.b, serial: definition.serial, simulators: [sim] });
    },
    async dispose() {
      await transport.close();
      await server.close();
      await pty.dispose();
      sim.dispose();
    },
  };
}
