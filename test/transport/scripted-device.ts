/**
 * Line-based test devices for transport tests (the hardware edge). `ScriptedDevice` records every
 * line it gets and answers by a function the test supplies, or holds the reply until told to send.
 */
import type { DeviceSimulator } from '../../src/drivers/types.js';

export class ScriptedDevice implements DeviceSimulator {
  readonly lines: { text: string; at: number }[] = [];
  private partial = '';
  private send: (data: Buffer) => void = () => {};
  /** Return the reply text (without terminator), or undefined to stay silent. */
  answer: (line: string) => string | undefined = (line) => `ok ${line}`;
  /** When true, replies wait in `held` until release(). */
  hold = false;
  readonly held: string[] = [];
  disposed = false;

  receive(data: Buffer): void {
    this.partial += data.toString('latin1');
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.lines.push({ text: line, at: performance.now() });
      const reply = this.answer(line);
      if (reply === undefined) continue;
      if (this.hold) this.held.push(reply);
      else this.emit(reply + '\n');
    }
  }

  /** Sends raw bytes as if the device had sent them on its own. */
  emit(text: string): void {
    this.send(Buffer.from(text, 'latin1'));
  }

  releaseOne(): void {
    const reply = this.held.shift();
    if (reply !== undefined) this.emit(reply + '\n');
  }

  onSend(listener: (data: Buffer) => void): void {
    this.send = listener;
  }

  dispose(): void {
    this.disposed = true;
  }
}

/** A device on a simulated RS-485 bus: requests look like "<addr>:<cmd>", only its own get a reply. */
export class AddressedDevice extends ScriptedDevice {
  constructor(readonly address: string) {
    super();
    this.answer = (line) => {
      const [addr, cmd] = line.split(':');
      return addr === this.address ? `${this.address}:ok ${cmd}` : undefined;
    };
  }
}
