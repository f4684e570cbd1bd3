// Writes config/daqd.schema.json from the zod schemas (npm run schema). A test checks it is current.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/json-schema.js';

const path = new URL('../config/daqd.schema.json', import.meta.url);
writeFileSync(path, JSON.stringify(configJsonSchema(), null, 2) + '\n');
console.log(`wrote ${path.pathname}`);
