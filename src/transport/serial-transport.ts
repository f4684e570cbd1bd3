/**
 * ByteTransport over a real serial device (or a pty) with the `serialport` package.
 *
 * Loss of the device (USB unplug, socat killed) is not signalled by the OS until the next write
 * fails with EIO; serialport then emits `error` and `close` (twice). Each open() starts a fresh
 * SerialPort because a stream that errored is destroyed and cannot be reopened.
 */
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { DaqError, describeError } from '../errors.js';
import type { ByteTransport, SerialSettings } from './types.js';
import { describeSerial } from './serial-settings.js';

interface Session {
  port: SerialPort;
  /** Resolves when this session's port has closed (first `close` event). */
  closed: Promise<void>;
  /** Set once the loss or close has been reported, so it is reported once. */
  reported: boolean;
  closingOnPurpose: boolean;
}

export class SerialTransport implements ByteTransport {
  readonly description: string;
  private session: Session | undefined;
  private opening: Promise<void> | undefined;
  private dataListener: (chunk: Buffer) => void = () => {};
  private closeListener: (err?: Error) => void = () => {};

  constructor(
    readonly path: string,
    readonly settings: SerialSettings,
  ) {
    this.description = `${path} (${describeSerial(settings)})`;
  }

  get isOpen(): boolean {
    return this.session !== undefined && !this.session.reported && this.session.port.isOpen;
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListener = listener;
  }

  /** Concurrent open() calls (the hub and a link's reconnect) share one attempt. */
  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    this.opening ??= this.openOnce().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async openOnce(): Promise<void> {
    // A previous session may still be shutting down after a loss; let it finish first.
    const previous = this.session;
    if (previous) {
      if (previous.port.isOpen) previous.port.close(() => {});
      await previous.closed;
    }
    if (!existsSync(this.path)) {
      throw new DaqError('port_not_found', `serial port ${this.path} does not exist (is the device plugged in?)`, {
        details: { path: this.path },
      });
    }
    const s = this.settings;
    const port = new SerialPort({
      path: this.path,
      baudRate: s.baudRate,
      dataBits: s.dataBits,
      parity: s.parity,
      stopBits: s.stopBits,
      rtscts: s.flowControl === 'rtscts',
      xon: s.flowControl === 'xonxoff',
      xoff: s.flowControl === 'xonxoff',
      autoOpen: false,
    });
    let markClosed: () => void = () => {};
    const session: Session = {
      port,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      reported: false,
      closingOnPurpose: false,
    };
    // Errors also arrive through write callbacks and `close`; without a listener they would crash.
    port.on('error', () => {});
    port.on('data', (chunk: Buffer) => {
      if (this.session === session && !session.reported) this.dataListener(chunk);
    });
    port.on('close', (err?: Error | null) => {
      markClosed();
      this.reportClosed(session, err ?? undefined);
    });

    await new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (!err) return resolve();
        markClosed();
        const missing = /ENOENT|No such file/i.test(err.message);
        reject(
          missing
            ? new DaqError('port_not_found', `serial port ${this.path} does not exist (is the device plugged in?)`, {
                details: { path: this.path },
              })
            : new DaqError('port_error', `cannot open serial port ${this.path}: ${err.message}`, {
                details: { path: this.path },
                cause: err,
              }),
        );
      });
    });
    this.session = session;
  }

  async write(data: Buffer): Promise<void> {
    const session = this.session;
    if (!session || session.reported || !session.port.isOpen) {
      throw new DaqError('disconnected', `serial port ${this.path} is not open`);
    }
    await new Promise<void>((resolve, reject) => {
      session.port.write(data, (err) => {
        if (!err) return resolve();
        // serialport closes the port itself on a write error; report it as a loss right away
        // so the caller's error and the close listener agree.
        this.reportClosed(session, err);
        reject(
          new DaqError('disconnected', `lost serial port ${this.path}: ${describeError(err)}`, {
            details: { path: this.path },
            cause: err,
          }),
        );
      });
    });
  }

  async close(): Promise<void> {
    const session = this.session;
    if (!session) return;
    // Only a close we start is deliberate: a port that is already closing on its own (serialport
    // noticed the loss first) is reported as lost, with its error.
    if (session.port.isOpen) {
      session.closingOnPurpose = true;
      await new Promise<void>((resolve) => session.port.close(() => resolve()));
    }
    // A port mid-way through closing after a loss reports !isOpen; wait for its close event.
    await session.closed;
    this.reportClosed(session, undefined);
  }

  private reportClosed(session: Session, err: Error | undefined): void {
    if (session.reported) return;
    session.reported = true;
    if (this.session !== session) return;
    const lost = session.closingOnPurpose ? undefined : (err ?? new Error('port closed'));
    this.closeListener(lost);
  }
}
