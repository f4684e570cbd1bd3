/**
 * The protocol, generated from the one method table (methods/index.ts): each method's params are
 * declared once, in zod, and both the JSON Schema of the protocol (docs/protocol.schema.json) and the
 * generated method reference (docs/protocol-methods.md) come from them (npm run protocol; a test
 * checks both are current).
 */
import { z } from 'zod';
import { ERROR_KINDS } from '../errors.js';
import { methods } from './methods/index.js';

function paramsSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}

/** A declared result (MethodDef.result) as JSON Schema: the shape of a successful answer's `result`. */
function resultSchema(schema: z.ZodType): Record<string, unknown> {
  return paramsSchema(schema, 'output');
}

export function protocolJsonSchema(): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  const results: Record<string, unknown> = {};
  const names = [...methods.keys()].sort();
  for (const name of names) {
    const def = methods.get(name)!;
    defs[name] = {
      type: 'object',
      description: def.description,
      properties: { jsonrpc: { const: '2.0' }, method: { const: name }, params: paramsSchema(def.params), id: { type: ['string', 'number', 'null'] } },
      required: ['jsonrpc', 'method'],
    };
    if (def.result) results[name] = resultSchema(def.result);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://daqd.invalid/protocol.schema.json',
    title: 'daqd JSON-RPC 2.0 requests (generated from src/rpc/methods; do not edit)',
    description: 'One request (or a batch of at most 1000) per line on the Unix socket, per POST /rpc body over HTTP. Errors carry data.kind: ' + Object.keys(ERROR_KINDS).join(', ') + '. The result of a successful answer, where declared, is #/$defs/results/<method> (objects may carry more fields than declared).',
    oneOf: [{ $ref: '#/$defs/request' }, { type: 'array', minItems: 1, maxItems: 1000, items: { $ref: '#/$defs/request' } }],
    $defs: {
      request: { oneOf: names.map((n) => ({ $ref: `#/$defs/methods/${n}` })) },
      methods: defs,
      // The `result` of a successful answer, per method (where declared): #/$defs/results/<method>.
      results,
    },
  };
}

function typeText(s: any): string {
  if (!s || typeof s !== 'object') return 'any';
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeText).join(' \\| ');
  if (s.oneOf) return s.oneOf.map(typeText).join(' \\| ');
  if (s.type === 'array') return `${typeText(s.items)}[]`;
  if (s.type === 'object') return s.properties ? 'object' : 'map';
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  const range = s.type === 'number' || s.type === 'integer' ? [s.minimum !== undefined ? `≥${s.minimum}` : '', s.maximum !== undefined ? `≤${s.maximum}` : ''].filter(Boolean).join(' ') : '';
  return (s.type ?? 'any') + (range ? ` (${range})` : '');
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The result's top-level fields as a table (nested objects are described by their own description). */
function resultMarkdown(js: any): string[] {
  const nullable = Boolean(js.anyOf?.some((s: any) => s.type === 'null'));
  const obj = js.anyOf ? js.anyOf.find((s: any) => s.type === 'object') : js;
  const props = Object.entries((obj?.properties ?? {}) as Record<string, any>);
  if (props.length === 0) return [`Result: ${typeText(js)}.`, ''];
  const required = new Set<string>(obj.required ?? []);
  const out = [`Result${nullable ? ' (or null)' : ''}:`, '', '| field | type | always | description |', '|---|---|---|---|'];
  for (const [k, v] of props) out.push(`| \`${k}\` | ${typeText(v)} | ${required.has(k) ? 'yes' : ''} | ${cell(v.description ?? v.anyOf?.find((s: any) => s.description)?.description)} |`);
  out.push('');
  return out;
}

export function protocolMarkdown(): string {
  const out = [
    '# Method reference (generated)',
    '',
    '<!-- Generated from the method table (src/rpc/methods) by `npm run protocol`; do not edit. -->',
    '',
    'Every method, its description and its params, from the one declaration the dispatcher validates',
    'with (the Unix socket, `POST /rpc` and MQTT requests alike). The JSON Schema of the requests is',
    '[protocol.schema.json](protocol.schema.json); the prose, examples and notifications are in',
    '[protocol.md](protocol.md). Where a method declares its result, the fields of a successful',
    "answer's `result` follow its params (a result may carry more fields than declared).",
    '',
  ];
  for (const name of [...methods.keys()].sort()) {
    const def = methods.get(name)!;
    const js: any = paramsSchema(def.params);
    const obj = js.anyOf ? js.anyOf.find((s: any) => s.type === 'object') : js;
    out.push(`## \`${name}\``, '', def.description.replace(/\n/g, ' '), '');
    const props = Object.entries((obj?.properties ?? {}) as Record<string, any>);
    if (props.length === 0) {
      out.push('No params.', '');
    } else {
      const required = new Set<string>(obj.required ?? []);
      out.push('| param | type | required |', '|---|---|---|');
      for (const [k, v] of props) out.push(`| \`${k}\` | ${typeText(v)} | ${required.has(k) ? 'yes' : ''} |`);
      out.push('');
    }
    if (def.result) out.push(...resultMarkdown(resultSchema(def.result)));
  }
  return out.join('\n');
}
