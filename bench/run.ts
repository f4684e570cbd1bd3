// npm run bench [name ...]: runs every bench/*.bench.ts (or the named ones) one after another.
// Each prints its own table: what is measured, the seed's figure, ours, and a ratio against a
// floor measured in the same run.
import { readdirSync } from 'node:fs';

const dir = new URL('.', import.meta.url);
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const started = performance.now();
  const mod = (await import(new URL(file, dir).href)) as { run?: () => Promise<unknown> };
  if (typeof mod.run !== 'function') {
    console.log('(no run() export; skipped)');
    continue;
  }
  const rows = await mod.run();
  if (Array.isArray(rows) && rows.length > 0) console.table(rows);
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
process.exit(0);
