/** JSON-RPC 2.0 framing: request validation and response/error objects. */
import { z } from 'zod';
import { DaqError, ERROR_KINDS } from '../errors.js';

export const requestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
});

export type RpcRequest = z.infer<typeof requestSchema>;

/**
 * The common request, checked without zod: a plain object with "jsonrpc":"2.0", a method name,
 * params that are a plain object, an array or absent, and a valid id (or none). A read such as
 * daemon.status is a few microseconds in all, and the schema's parse was a sixth of that (with
 * params, zod also copied them). It accepts exactly what requestSchema accepts for such an object
 * (a test compares the two); anything else returns undefined and goes through requestSchema.
 * The params are the request's own object: every key it has, "__proto__" included, reaches the
 * dispatcher's checks (zod's record copy drops an own "__proto__" key).
 */
export function plainRequest(raw: unknown): { method: string; params: unknown } | undefined {
  if (typeof raw !== 'object' || raw === null || Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  const r = raw as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
  if (r.jsonrpc !== '2.0' || typeof r.method !== 'string' || r.method.length === 0) return undefined;
  const params = r.params;
  if (params !== undefined && !Array.isArray(params) && !(typeof params === 'object' && params !== null && Object.getPrototypeOf(params) === Object.prototype)) return undefined;
  const id = r.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) return undefined;
  return { method: r.method, params };
}
export type RpcId = string | number | null;

export interface RpcErrorObject {
  code: number;
  message: string;
  data: { kind: string; [key: string]: unknown };
}

export function errorObject(err: DaqError): RpcErrorObject {
  // One line a person can act on: multi-line details stay in data.
  const message = err.message.split('\n')[0]!;
  return { code: ERROR_KINDS[err.kind], message, data: { kind: err.kind, ...(err.details ?? {}) } };
}

export function errorResponse(id: RpcId, err: DaqError) {
  return { jsonrpc: '2.0' as const, id, error: errorObject(err) };
}

export function resultResponse(id: RpcId, result: unknown) {
  return { jsonrpc: '2.0' as const, id, result };
}

export function notification(method: string, params: unknown) {
  return { jsonrpc: '2.0' as const, method, params };
}
