/**
 * sd_notify(3) for daqd, over `/usr/bin/systemd-notify`. Node 20 cannot send Unix datagrams, and the
 * native `sd-notify` module does not build on the lab PCs (no libsystemd headers), so each message is
 * one run of the helper (~5-12 ms). The helper waits (BARRIER=1) until systemd has read the message,
 * so "the helper exited before systemd looked at its pid" cannot happen; as an unprivileged user the
 * message comes from the helper's pid, hence `NotifyAccess=all` in the unit.
 *
 * - Nothing at all happens when `NOTIFY_SOCKET` is unset (not under systemd, or Type=simple).
 * - Messages go out one at a time in the order they were asked for (one helper at a time): a
 *   RELOADING=1 can never overtake the READY=1 before it.
 * - A WATCHDOG=1 asked for while another is still queued is merged into it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export const DEFAULT_HELPER = '/usr/bin/systemd-notify';
/** Exit status when systemd cannot be told we are alive (RestartPreventExitStatus= in the unit). */
export const EXIT_NOTIFY_FAILED = 78;

export type NotifyFields = Record<string, string | number | bigint>;

export interface NotifyOptions {
  env?: NodeJS.ProcessEnv;
  helper?: string;
  /** Per message; the helper waits for systemd to read it (default 5000 ms). */
  timeoutMs?: number;
}

/** CLOCK_MONOTONIC in microseconds (libuv's hrtime is CLOCK_MONOTONIC on Linux), for MONOTONIC_USEC. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** One line of text for STATUS= (systemd shows it in `systemctl status`). */
export function oneLine(text: string, max = 240): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export class SdNotify {
  /** Whether systemd listens (NOTIFY_SOCKET set). When false every call is a no-op. */
  readonly enabled: boolean;
  readonly socket: string | undefined;
  readonly helper: string;
  private readonly timeoutMs: number;
  private chain: Promise<unknown> = Promise.resolve();
  private queuedWatchdog: Promise<boolean> | null = null;
  /** Messages sent / failed so far, and the last failure (for daemon.status). */
  sent = 0;
  failed = 0;
  lastError: string | undefined;

  constructor(options: NotifyOptions = {}) {
    const env = options.env ?? process.env;
    this.socket = env.NOTIFY_SOCKET || undefined;
    this.enabled = this.socket !== undefined;
    this.helper = options.helper ?? env.DAQD_SYSTEMD_NOTIFY ?? DEFAULT_HELPER;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Why messages cannot be sent, checked without sending (the helper missing), or undefined. */
  problem(): string | undefined {
    if (!this.enabled) return undefined;
    try {
      accessSync(this.helper, constants.X_OK);
      return undefined;
    } catch {
      return `${this.helper} is missing or not executable (install systemd, or point DAQD_SYSTEMD_NOTIFY at the helper)`;
    }
  }

  /**
   * Queue one message; resolves true once systemd has read it, false when it could not be sent
   * (the reason is in lastError). Never rejects.
   */
  send(fields: NotifyFields): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(true);
    const args = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? oneLine(v) : String(v)}`);
    const run = this.chain.then(() => this.exec(args));
    this.chain = run;
    return run;
  }

  /** WATCHDOG=1, merged with one already waiting its turn. */
  watchdog(): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(true);
    if (this.queuedWatchdog) return this.queuedWatchdog;
    const p = this.chain.then(() => {
      this.queuedWatchdog = null;
      return this.exec(['WATCHDOG=1']);
    });
    this.queuedWatchdog = p;
    this.chain = p;
    return p;
  }

  /** Resolves once every message asked for so far has been read by systemd (or failed). */
  async flush(): Promise<void> {
    await this.chain;
  }

  private exec(args: string[]): Promise<boolean> {
    return new Promise((resolve) => {
      execFile(this.helper, args, { timeout: this.timeoutMs, env: { ...process.env, NOTIFY_SOCKET: this.socket } }, (err, _stdout, stderr) => {
        if (err) {
          this.failed++;
          this.lastError = `${this.helper} ${args.join(' ')}: ${(stderr || err.message).trim()}`;
          resolve(false);
        } else {
          this.sent++;
          resolve(true);
        }
      });
    });
  }
}
