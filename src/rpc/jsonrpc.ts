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
