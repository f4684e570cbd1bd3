/**
 * `ports.probe` / `daqctl probe tcp://host:port`: connect, send `*IDN?`, return the answer, close.
 * Only ever on request, to the address the person named (daqd never scans or probes by itself).
 */
import { DaqError } from '../errors.js';
import { lineReply } from './framing.js';
import { QueuedLink } from './link.js';
import { TcpTransport } from './tcp-transport.js';
import type { TcpAddress } from '../config/port-path.js';

export interface ProbeOptions {
  /** Connect timeout and reply timeout, each (ms). */
  timeoutMs?: number;
  /** Ends the query and the reply (default "\n"). */
  terminator?: string;
}

export interface ProbeResult {
  address: string;
  /** The *IDN? answer, e.g. "Keysight Technologies,34465A,MY12345678,A.03.01". */
  idn: string;
  connectMs: number;
  replyMs: number;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2000;

export async function probeTcp(address: TcpAddress, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const terminator = options.terminator ?? '\n';
  const transport = new TcpTransport({ host: address.host, port: address.port, connectTimeoutMs: timeoutMs });
  const link = new QueuedLink(transport, { lineRate: 1e6, timeoutMs, autoReopen: false });
  const started = performance.now();
  try {
    await transport.open();
    const connected = performance.now();
    let frame: Buffer | undefined;
    try {
      frame = await link.request({ write: `*IDN?${terminator}`, reply: lineReply(terminator), label: '*IDN?' });
    } catch (err) {
      if (err instanceof DaqError && err.kind === 'timeout') {
        throw new DaqError('timeout', `${address.spec} accepted the connection but did not answer *IDN? within ${timeoutMs} ms (not a SCPI socket, a different terminator, or a serial device server whose device does not speak SCPI?)`, {
          details: { address: address.spec, timeoutMs },
        });
      }
      throw err;
    }
    return {
      address: address.spec,
      idn: (frame ?? Buffer.alloc(0)).toString('latin1').trim(),
      connectMs: round(connected - started),
      replyMs: round(performance.now() - connected),
    };
  } finally {
    link.dispose(new DaqError('disconnected', 'probe finished'));
    await transport.close().catch(() => {});
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
