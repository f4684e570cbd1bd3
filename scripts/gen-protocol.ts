// Writes docs/protocol.schema.json and docs/protocol-methods.md from the method table (npm run protocol).
// A test (test/integration/http-protocol-source.test.ts) checks both are current.
import { writeFileSync } from 'node:fs';
import { protocolJsonSchema, protocolMarkdown } from '../src/rpc/protocol-schema.js';

const schema = new URL('../docs/protocol.schema.json', import.meta.url);
const md = new URL('../docs/protocol-methods.md', import.meta.url);
writeFileSync(schema, JSON.stringify(protocolJsonSchema(), null, 2) + '\n');
writeFileSync(md, protocolMarkdown());
console.log(`wrote ${schema.pathname} and ${md.pathname}`);
