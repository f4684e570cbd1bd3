// Writes docs/drivers/reference.md from the drivers' declarations (npm run docs:drivers).
import { writeFileSync } from 'node:fs';
import { driverReference } from '../src/drivers/reference.js';

const path = new URL('../docs/drivers/reference.md', import.meta.url);
writeFileSync(path, driverReference());
console.log(`wrote ${path.pathname}`);
