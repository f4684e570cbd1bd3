/**
 * What the hostile-input tests share (issue #16): configs that write no file, the id rule's message,
 * what a bug looks like in daqd's output, running daqd to its exit, counting its sockets, and the
 * responses among a connection's messages.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { DAQD_BIN } from '../helpers/daemon.js';
import { runNode } from '../helpers/run.js';
import type { RpcMessage } from './daemon-raw-client.js';

export const NO_FILE_CHANGES = `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false
`;

export function meters(ids: string[], pollMs: number, extra = ''): string {
  return ids.map((id) => `[instruments.${id}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = ${pollMs}\n${extra}`).join('\n');
}

export const BUILT_INS = Object.getOwnPropertyNames(Object.prototype);
export const ID_RULE = /ids are 1 to 64 letters, digits, "_" or "-", and never a built-in name of JavaScript objects/;
/** pino's error level: daqd logs a "bug" at this level, and hostile input must never cause one. */
export const ERROR_LOG_LINE = /"level":(50|60)/;
export const STACK_LINE = /^\s+at /m;

export interface Run {
  code: number | null;
  out: string;
}

/** Runs daqd to its exit (start-up refusals, --check-config). */
export function runDaqd(args: string[], cwd: string, timeoutMs = 15_000): Promise<Run> {
  return runNode(DAQD_BIN, args, { cwd, timeoutMs });
}

/**
 * daqd's open sockets (the fds a leaked connection holds). Files are left out: the recorder and
 * the history log open theirs when the first reading or change of a day arrives, which is not a
 * leak and would make a whole-fd count drift during the test.
 */
export function fdCount(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed while we looked
    }
  }
  return sockets;
}

/** Every response object in the messages (a batch answer is one array message). */
export function responses(messages: RpcMessage[]): RpcMessage[] {
  return messages.flatMap((m) => (Array.isArray(m) ? (m as RpcMessage[]) : [m])).filter((m) => m.method === undefined);
}
