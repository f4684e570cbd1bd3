import type { z } from 'zod';
import type { Daemon } from '../../core/daemon.js';
import type { ClientStats } from '../connection.js';
import type { Session } from '../session.js';

export interface MethodContext {
  daemon: Daemon;
  /** What the request came in on (socket connection, HTTP, MQTT): events.subscribe talks to it. */
  session: Session;
  /** Socket-wide counters (connections, subscribers, queued and dropped events). */
  clientStats: () => ClientStats;
}

/** A socket method: its params schema is the single source of the wire shape (docs/protocol.md). */
export interface MethodDef<P = any> {
  description: string;
  params: z.ZodType<P>;
  /**
   * The shape of a successful answer, for the docs and the JSON Schema (npm run protocol) and for
   * test/integration/protocol-results.test.ts; never checked at run time (no cost per call).
   */
  result?: z.ZodType;
  handler(params: P, ctx: MethodContext): unknown | Promise<unknown>;
  /** Mutating methods are logged as audit lines by the manager; reads are not. */
}

/** How each method file declares its methods (names are literals in the source). */
export type MethodTable = Record<string, MethodDef>;

/**
 * The table the connection looks names up in: a Map, so a client's method name is only ever
 * compared with the names declared, never with an object's built-ins ("constructor", "__proto__").
 */
export type MethodMap = ReadonlyMap<string, MethodDef>;
