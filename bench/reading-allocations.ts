/**
 * Where a reading's garbage comes from: a Daemon with 1000 simulated meters at 10 Hz, sampled by
 * V8's allocation profiler for 5 s (objects collected by minor and major GCs included), printed as
 * bytes allocated per reading by function. A diagnostic for issue #25's work, not a benchmark with
 * a floor: bench/fleet.bench.ts has the figures.
 *
 *   node --import tsx bench/reading-allocations.ts
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { Daemon } from '../src/core/daemon.js';
const dir = mkdtempSync(join(tmpdir(), 'alloc-'));
mkdirSync(join(dir, 'config'));
let c = '[application.http]\nenabled = false\n';
for (let i = 0; i < 1000; i++) c += `[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n`;
writeFileSync(join(dir, 'config/default.toml'), c);
const d = await Daemon.start({ configPath: join(dir, 'config/default.toml'), stateDir: join(dir, '.daq'), log: pino({ level: 'silent' }) });
let readings = 0;
d.events.subscribe(() => readings++, { types: ['reading'] });
await new Promise((r) => setTimeout(r, 3000));
const s = new Session();
s.connect();
await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const r0 = readings;
await new Promise((r) => setTimeout(r, 5000));
const { profile } = await s.post('HeapProfiler.stopSampling');
const n = readings - r0;
const self = new Map<string, number>();
let total = 0;
const walk = (node: any) => {
  const cf = node.callFrame;
  const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*\/(node_modules\/[^/]+|src)\//, '$1/')}:${cf.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const ch of node.children) walk(ch);
};
walk(profile.head);
console.log('readings', n, 'sampled bytes/reading', Math.round(total / n));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(String(Math.round(v / n)).padStart(6), k);
process.exit(0);
