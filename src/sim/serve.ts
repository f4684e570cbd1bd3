/**
 * Runs device simulators on a real serial path (usually one end of a socat pty pair), so daqd - or
 * any other program - can talk to a simulated instrument through the serial stack. Several
 * simulators on one path form a multidrop bus: every device hears every byte.
 */
import type { DeviceSimulator } from '../drivers/types.js';
import { SerialTransport } from '../transport/serial-transport.js';
import { DEFAULT_SERIAL } from '../transport/serial-settings.js';
import type { SerialSettings } from '../transport/types.js';

export interface ServeOptions {
  path: string;
  serial?: SerialSettings;
  simulators: DeviceSimulator[];
  /** Called when the port is lost (e.g. socat killed). */
  onLost?: (err?: Error) => void;
}

export interface SimulatorServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function serveSimulator(options: ServeOptions): Promise<SimulatorServer> {
  const transport = new SerialTransport(options.path, options.serial ?? DEFAULT_SERIAL);
  let closed = false;
  transport.onData((chunk) => {
    for (const sim of options.simulators) sim.receive(chunk);
  });
  transport.onClose((err) => {
    if (!closed) options.onLost?.(err);
  });
  for (const sim of options.simulators) {
    sim.onSend((data) => {
      if (!transport.isOpen) return;
      // A write can only fail when the port is gone; onClose reports that.
      transport.write(data).catch(() => {});
    });
  }
  await transport.open();
  return {
    path: options.path,
    async close() {
      // The simulators stay the caller's (a test may serve them again after a re-plug).
      closed = true;
      await transport.close();
    },
  };
}
