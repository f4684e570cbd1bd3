/**
 * The one dispatcher: a JSON-RPC 2.0 message (a request or a batch) in, its response out, for any
 * session. The Unix socket (connection.ts), HTTP (services/http) and MQTT (services/mqtt) only frame
 * it. The limits live here, so every framing has them: nesting depth before JSON.parse, batch size,
 * "__proto__" keys, params validated by each method's zod schema (the commonest shapes by an
 * equivalent check without zod, fast-params.ts).
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Daemon } from '../core/daemon.js';
import { DaqError, toDaqError } from '../errors.js';
import { findProtoKey, paramsProblem, pathText, preview } from './describe.js';
import { errorResponse, plainRequest, requestSchema, resultResponse, type RpcId } from './jsonrpc.js';
import type { ClientStats } from './connection.js';
import type { MethodMap } from './methods/types.js';
import { MAX_NESTING_DEPTH, nestingExceeds } from './nesting.js';
import { fastParams } from './fast-params.js';
import type { Session } from './session.js';

/** Requests in one batch (docs/protocol.md, Limits). */
export const MAX_BATCH = 1000;

const NO_STATS: ClientStats = { connections: 0, subscribers: 0, stalledClients: 0, queuedEvents: 0, droppedEvents: 0 };

/** A request requestSchema.safeParse would accept, with its own params (jsonrpc.ts, plainRequest). */
function fastRequest(raw: unknown): { success: true; data: { method: string; params: unknown } } | undefined {
  const data = plainRequest(raw);
  return data && { success: true, data };
}

/**
 * Whether a method's params schema takes "no params" as no params (parses undefined to undefined):
 * asked once per schema, not per call (zod's parse of nothing was a tenth of a status request).
 * A schema that refuses undefined, or makes something of it (a default), is parsed every call.
 */
const noParamsOk = new WeakMap<z.ZodType, boolean>();
function acceptsNoParams(schema: z.ZodType): boolean {
  let ok = noParamsOk.get(schema);
  if (ok === undefined) {
    const r = schema.safeParse(undefined);
    ok = r.success && r.data === undefined;
    noParamsOk.set(schema, ok);
  }
  return ok;
}

export class Dispatcher {
  constructor(
    private readonly daemon: Daemon,
    private readonly methods: MethodMap,
    private readonly log: Logger,
    private readonly clientStats: () => ClientStats = () => NO_STATS,
  ) {}

  /**
   * One message's text (a socket line, an HTTP body). A message refused before any method runs is
   * answered at once (a plain object); otherwise a promise of the response: an object, an array for
   * a batch, or undefined when nothing is to be sent (notifications only).
   */
  handleText(text: string, session: Session): object | Promise<object | undefined> {
    // Before JSON.parse: a deep value is refused unparsed, so nothing after can overflow on it.
    if (nestingExceeds(text)) {
      return errorResponse(null, new DaqError('parse_error', `request nested deeper than ${MAX_NESTING_DEPTH} levels of arrays/objects; it was not parsed`));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return errorResponse(null, new DaqError('parse_error', 'invalid JSON: send one JSON-RPC 2.0 object per line'));
    }
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) return errorResponse(null, new DaqError('invalid_request', 'empty batch'));
      // A 1 MiB line of `[1,1,1,...]` is half a million requests, and one ~75 MB answer line.
      if (parsed.length > MAX_BATCH) {
        return errorResponse(null, new DaqError('invalid_request', `a batch of ${parsed.length} requests is more than ${MAX_BATCH}; send them in smaller batches or one per line`));
      }
      return Promise.all(parsed.map((r) => this.handleRequest(r, session))).then((responses) => {
        const out = responses.filter((r) => r !== undefined);
        return out.length > 0 ? out : undefined;
      });
    }
    return this.handleRequest(parsed, session);
  }

  /** One parsed request object: its response, or undefined for a notification. */
  async handleRequest(raw: unknown, session: Session): Promise<object | undefined> {
    const req = fastRequest(raw) ?? requestSchema.safeParse(raw);
    const rawId = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'id') ? (raw as { id?: unknown }).id : undefined;
    const id: RpcId = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
    if (!req.success) {
      return errorResponse(id, new DaqError('invalid_request', 'not a JSON-RPC 2.0 request: need {"jsonrpc":"2.0","method":"...","id":...}'));
    }
    const isNotification = !Object.hasOwn(raw as object, 'id');
    // The request's own params, not zod's copy of them: a "__proto__" key zod's record would drop
    // silently reaches the check in call() and is refused, like one nested deeper.
    const { method } = req.data;
    const params = (raw as { params?: unknown }).params;
    try {
      const result = await this.call(method, params, session);
      return isNotification ? undefined : resultResponse(id, result ?? null);
    } catch (err) {
      const e = toDaqError(err, (bug) => this.log.error({ err: bug, method: preview(method) }, 'bug: an error without a code'));
      return isNotification ? undefined : errorResponse(id, e);
    }
  }

  /** Call one method by name with unchecked params; throws a DaqError (kind) when refused. */
  async call(method: string, params: unknown, session: Session): Promise<unknown> {
    // A Map: a method named "constructor" or "__proto__" is just an unknown name, not a built-in.
    const def = this.methods.get(method);
    if (!def) throw new DaqError('method_not_found', `unknown method ${preview(method)} (see docs/protocol.md for the list)`);
    const protoKey = findProtoKey(params, MAX_NESTING_DEPTH);
    if (protoKey) {
      throw new DaqError('invalid_params', `${method}: params.${pathText(protoKey)}: the key "__proto__" is not allowed (it is a built-in name of JavaScript objects)`);
    }
    if (params === undefined && acceptsNoParams(def.params)) return def.handler(undefined, { daemon: this.daemon, session, clientStats: this.clientStats });
    const fast = params === undefined ? undefined : fastParams(def.params, params);
    if (fast !== undefined) return def.handler(fast as never, { daemon: this.daemon, session, clientStats: this.clientStats });
    const p = def.params.safeParse(params, { reportInput: true });
    if (!p.success) throw new DaqError('invalid_params', paramsProblem(method, p.error.issues));
    return def.handler(p.data, { daemon: this.daemon, session, clientStats: this.clientStats });
  }
}
