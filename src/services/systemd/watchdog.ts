/**
 * The systemd watchdog: `WATCHDOG=1` every half of `WATCHDOG_USEC`, from a timer on the event loop.
 * The pings are the proof that the loop runs: a loop blocked (or spinning) past WatchdogSec= sends
 * nothing, and systemd kills and restarts daqd (Restart=on-failure). Pings are not sent from a
 * worker or a child process for that reason.
 */
import type { SdNotify } from './notify.js';

/**
 * The ping interval (half of WATCHDOG_USEC) in ms, or undefined when no watchdog is configured for
 * this process (WATCHDOG_PID, when set, names the process systemd watches).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface WatchdogOptions {
  intervalMs: number;
  /** Consecutive failed pings before onFailure (default 3). */
  maxFailures?: number;
  /** Called once when pings cannot be delivered (daqd exits rather than be killed in a loop). */
  onFailure: (why: string) => void;
}

export class WatchdogPinger {
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private failedOnce = false;
  pings = 0;

  constructor(private readonly notify: SdNotify, private readonly options: WatchdogOptions) {}

  start(): void {
    if (this.timer || !this.notify.enabled) return;
    this.timer = setInterval(() => this.ping(), this.options.intervalMs);
    // The socket server keeps daqd alive; the watchdog must not.
    this.timer.unref();
    this.ping();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private ping(): void {
    this.pings++;
    void this.notify.watchdog().then((ok) => {
      if (ok) {
        this.failures = 0;
        return;
      }
      this.failures++;
      if (this.failures >= (this.options.maxFailures ?? 3) && !this.failedOnce) {
        this.failedOnce = true;
        this.stop();
        this.options.onFailure(this.notify.lastError ?? 'WATCHDOG=1 could not be sent');
      }
    });
  }
}
