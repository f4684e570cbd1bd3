/**
 * One protocol source: docs/protocol.schema.json and docs/protocol-methods.md are generated from the
 * method table's zod declarations (npm run protocol) and must be current; every method is in both.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { methods } from '../../src/rpc/methods/index.js';
import { protocolJsonSchema, protocolMarkdown } from '../../src/rpc/protocol-schema.js';

const DOCS = resolve(import.meta.dirname, '../../docs');

it('docs/protocol.schema.json and docs/protocol-methods.md are current (npm run protocol)', () => {
  expect(readFileSync(resolve(DOCS, 'protocol.schema.json'), 'utf8')).toBe(JSON.stringify(protocolJsonSchema(), null, 2) + '\n');
  expect(readFileSync(resolve(DOCS, 'protocol-methods.md'), 'utf8')).toBe(protocolMarkdown());
});

it('every method of the dispatcher is in the schema and the reference', () => {
  const schema = protocolJsonSchema() as { $defs: { methods: Record<string, unknown> } };
  const md = protocolMarkdown();
  for (const name of methods.keys()) {
    expect(schema.$defs.methods[name], name).toBeDefined();
    expect(md).toContain(`## \`${name}\``);
  }
});

it('every declared result is in the schema and the reference', () => {
  const schema = protocolJsonSchema() as { $defs: { results: Record<string, unknown> } };
  const md = protocolMarkdown();
  const declared = [...methods].filter(([, def]) => def.result).map(([name]) => name);
  expect(declared.length).toBeGreaterThan(20);
  for (const name of declared) {
    expect(schema.$defs.results[name], name).toBeDefined();
    const section = md.slice(md.indexOf(`## \`${name}\``)).split('\n## ')[0]!;
    expect(section, name).toMatch(/\nResult( \(or null\))?:\n/);
  }
  expect(Object.keys(schema.$defs.results).sort()).toEqual([...declared].sort());
});
