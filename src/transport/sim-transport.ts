/**
 * A ByteTransport wired to one or more DeviceSimulators instead of a serial port. Several simulators
 * on one transport form a simulated RS-485 bus: the host's bytes reach every device, and each device
 * answers only requests for its own address.
 *
 * Bytes are always delivered asynchronously (never inside the caller's write), as a real port
 * would. With `pacing`, each byte takes its line time (10/baud s for 8N1) in each direction, so
 * throughput measured against the line rate means something.
 */
import { DaqError } from '../errors.js';
import type { DeviceSimulator } from '../drivers/types.js';
import type { ByteTransport, SerialSettings } from './types.js';
import { DEFAULT_SERIAL, lineRate } from './serial-settings.js';
import { lineClock } from './line-clock.js';

export interface SimTransportOptions {
  description?: string;
  serial?: SerialSettings;
  /** Pace bytes at the configured baud (default true). */
  pacing?: boolean;
}

export class SimTransport implements ByteTransport {
  readonly description: string;
  private readonly simulators = new Set<DeviceSimulator>();
  private readonly charsPerSecond: number;
  private readonly pacing: boolean;
  private open_ = false;
  private unplugged = false;
  /** When the host->device and device->host directions are next free (ms, performance.now()). */
  private txFreeAt = 0;
  private rxFreeAt = 0;
  /** Writes waiting for their line time; answered early on shutdown so no write hangs. */
  private readonly writeWaits = new Set<() => void>();
  /** Bumped on shutdown: bytes scheduled before it are not delivered after it. */
  private generation = 0;
  private dataListener: (chunk: Buffer) => void = () => {};
  private closeListener: (err?: Error) => void = () => {};

  constructor(options: SimTransportOptions = {}) {
    this.description = options.description ?? 'simulator';
    this.charsPerSecond = lineRate(options.serial ?? DEFAULT_SERIAL);
    this.pacing = options.pacing ?? true;
  }

  get isOpen(): boolean {
    return this.open_;
  }

  /** Hang a device on this transport. The transport owns it from now on (disposes it on detach). */
  attach(simulator: DeviceSimulator): void {
    this.simulators.add(simulator);
    simulator.onSend((data) => {
      if (this.simulators.has(simulator)) this.deliverToHost(Buffer.from(data));
    });
  }

  detach(simulator: DeviceSimulator): void {
    if (this.simulators.delete(simulator)) simulator.dispose();
  }

  get deviceCount(): number {
    return this.simulators.size;
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListener = listener;
  }

  async open(): Promise<void> {
    if (this.unplugged) {
      throw new DaqError('port_not_found', `${this.description} is unplugged (simulated)`);
    }
    this.open_ = true;
  }

  /**
   * The bytes reach the devices once their line time has passed; a close meanwhile answers the
   * write at once with `disconnected`. One promise per write and no async frame: at fleet scale a
   * write is two of every reading's allocations (issue #25).
   */
  write(data: Buffer): Promise<void> {
    if (!this.open_) return Promise.reject(new DaqError('disconnected', `${this.description} is not open`));
    const bytes = Buffer.from(data);
    const doneAt = this.schedule('tx', bytes.length);
    return new Promise((resolve, reject) => {
      const waits = this.writeWaits;
      const done = (): void => {
        if (!waits.delete(done)) return;
        if (!this.open_) {
          reject(new DaqError('disconnected', `lost ${this.description} while writing`));
          return;
        }
        try {
          for (const sim of this.simulators) sim.receive(bytes);
          resolve();
        } catch (err) {
          reject(err);
        }
      };
      waits.add(done);
      lineClock.at(doneAt, done);
    });
  }

  async close(): Promise<void> {
    if (!this.open_) return;
    this.shutdown();
    this.closeListener(undefined);
  }

  /** Test hook: the device vanishes as if its cable were pulled; open() fails until replug(). */
  unplug(): void {
    this.unplugged = true;
    if (!this.open_) return;
    this.shutdown();
    this.closeListener(new Error('device unplugged (simulated)'));
  }

  /** Test hook: the device is back; the next open() succeeds. */
  replug(): void {
    this.unplugged = false;
  }

  /** Stops everything and disposes the attached simulators. */
  dispose(): void {
    this.shutdown();
    for (const sim of [...this.simulators]) this.detach(sim);
  }

  private shutdown(): void {
    this.open_ = false;
    this.generation++;
    for (const done of this.writeWaits) done();
    this.writeWaits.clear();
    this.txFreeAt = this.rxFreeAt = 0;
  }

  private deliverToHost(bytes: Buffer): void {
    if (!this.open_) return;
    const at = this.schedule('rx', bytes.length);
    const generation = this.generation;
    lineClock.at(at, () => {
      if (this.open_ && generation === this.generation) this.dataListener(bytes);
    });
  }

  /** Reserves line time for `count` bytes in one direction; returns when they have all arrived. */
  private schedule(direction: 'tx' | 'rx', count: number): number {
    const now = performance.now();
    if (!this.pacing) return now;
    const start = Math.max(now, direction === 'tx' ? this.txFreeAt : this.rxFreeAt);
    const end = start + (count * 1000) / this.charsPerSecond;
    if (direction === 'tx') this.txFreeAt = end;
    else this.rxFreeAt = end;
    return end;
  }

}
