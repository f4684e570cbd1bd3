/**
 * Every change to the running set-up is one of these commands, whoever sends it: the socket, the
 * file watcher, SIGHUP, modules, and later transactions and schedules. The manager runs them one
 * at a time in arrival order.
 */
import { z } from 'zod';
import { idSchema } from '../config/schema.js';

const paramValue = z.union([z.number(), z.boolean(), z.string()]);
/** `persist: false` keeps a change in memory only (the file is not written). */
const persist = z.boolean().optional();
/**
 * Optimistic concurrency (issue #18): the running config's revision the sender last saw. A mutating
 * command with `ifRev` is refused with `conflict` when the config has changed since. Socket methods
 * take it from here too (one definition).
 */
export const ifRevSchema = z.number().int().min(0).optional();
const ifRev = ifRevSchema;

export const commandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('instrument.add'),
    id: idSchema,
    /** The instrument table as an object (driver, port, params...). */
    config: z.record(z.string(), z.unknown()),
    persist,
    ifRev,
  }),
  z.object({
    type: z.literal('instrument.remove'),
    id: idSchema,
    force: z.boolean().optional(),
    cascade: z.boolean().optional(),
    persist,
    ifRev,
  }),
  z.object({
    type: z.literal('instrument.set'),
    id: idSchema,
    /** Parameter values, plus the common keys that are live (poll_interval_ms). */
    params: z.record(z.string(), paramValue).refine((p) => Object.keys(p).length > 0, 'give at least one parameter'),
    persist,
    ifRev,
  }),
  /**
   * Internal (not a socket method): after the device confirmed an instrument.set, record the new
   * setpoint values in the config (and the file). Queued with the other config changes; no device I/O.
   */
  z.object({
    type: z.literal('instrument.record'),
    id: idSchema,
    values: z.record(z.string(), paramValue),
    pollIntervalMs: z.number().int().optional(),
    persist,
  }),
  z.object({ type: z.literal('instrument.enable'), id: idSchema, persist, ifRev }),
  z.object({ type: z.literal('instrument.disable'), id: idSchema, persist, ifRev }),
  z.object({ type: z.literal('instrument.restart'), id: idSchema, ifRev }),
  z.object({
    type: z.literal('module.add'),
    id: idSchema,
    config: z.record(z.string(), z.unknown()),
    persist,
    ifRev,
  }),
  z.object({ type: z.literal('module.remove'), id: idSchema, persist, ifRev }),
  z.object({ type: z.literal('module.assign'), id: idSchema, role: z.string().min(1), instrument: idSchema, persist, ifRev }),
  z.object({ type: z.literal('module.unassign'), id: idSchema, role: z.string().min(1), persist, ifRev }),
  z.object({ type: z.literal('module.reset'), id: idSchema }),
  z.object({
    type: z.literal('module.set'),
    id: idSchema,
    /** Setting name -> new value (checked by the module type's schema on commit); null removes it. */
    settings: z.record(z.string(), z.unknown()).refine((s) => Object.keys(s).length > 0, 'give at least one setting'),
    persist,
    ifRev,
  }),
  z.object({
    type: z.literal('config.reload'),
    source: z.enum(['socket', 'watcher', 'signal', 'conflict', 'startup']).default('socket'),
    /** Apply a file that is empty or removes every instrument at once (refused otherwise). */
    allowEmpty: z.boolean().optional(),
  }),
  z.object({ type: z.literal('config.sync') }),
  /**
   * Internal (not a socket method): a transaction's commit, revert or restart-resume, run in the
   * queue like any other change (src/core/tx/). The transaction itself lives in the TxManager.
   */
  z.object({ type: z.literal('tx.apply'), txId: z.string().min(1), mode: z.enum(['commit', 'confirm', 'revert', 'resume']), ifRev }),
  /**
   * Internal (socket: version.rollback): restore a config version, in the queue, as a transaction
   * (src/core/versions/). `id` is a version id or "previous".
   */
  z.object({
    type: z.literal('version.rollback'),
    id: z.string().min(1).max(1024),
    withActions: z.boolean().optional(),
    timeoutMs: z.number().int().positive().max(600_000).optional(),
    ifRev,
  }),
]);

export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command['type'];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;

/** A command's result is JSON-safe and goes to the client as the JSON-RPC result. */
export type CommandResult = Record<string, unknown>;
