/**
 * The dependency query (which modules use an instrument, in which roles) on a set-up of 1000
 * instruments and 500 modules, in-process and over the socket. The seed quoted < 10 ms.
 *
 * - in-process: `dependentsOf` on the generated config (the graph is built once per config object
 *   and cached; the first query after a change pays for the build, measured on its own). Floor: a
 *   plain Map lookup of the same ids.
 * - socket: `instrument.dependencies` against a real daqd child on the generated config (simulated
 *   meters polled once an hour, so the daemon is idle). Floor: a `daemon.status` round trip on the
 *   same connection (note: with 1000 instruments status lists every instrument, so it is not free).
 *
 *   node --import tsx -e "import('./bench/deps.bench.ts').then(m => m.run())"
 */
import { pathToFileURL } from 'node:url';
import { parse } from 'smol-toml';
import type { ConfigModel } from '../src/config/model.js';
import { dependencyGraph, dependentsOf } from '../src/modules/graph.js';
import { startDaemon } from '../test/helpers/daemon.js';

const INSTRUMENTS = 1000;
const MODULES = 500;
const SEED_TARGET = '< 10 ms';

/**
 * 1000 Newport meters and 500 modules: every other module a monitor on one meter, the rest
 * derived ratios of two, so a meter is used by up to three modules and half are unused.
 */
export function generateConfig(): string {
  const out = ['# Generated: dependency query benchmark', '[application.dynamic_config]', 'enable_persistence = false', 'enable_hot_reload = false', ''];
  for (let i = 0; i < INSTRUMENTS; i++) {
    out.push(`[instruments.pm${i}]`, 'driver = "newport_1830c"', 'port = "sim"', 'poll_interval_ms = 3600000', '');
  }
  for (let m = 0; m < MODULES; m++) {
    const a = (m * 7) % INSTRUMENTS;
    const b = (m * 13 + 1) % INSTRUMENTS;
    if (m % 2 === 0) {
      out.push(`[modules.mod${m}]`, 'type = "monitor"', 'reading = "power"', 'high = 1', '', `[modules.mod${m}.roles]`, `source = "pm${a}"`, '');
    } else {
      out.push(`[modules.mod${m}]`, 'type = "derived"', 'expression = "a.power / b.power"', '', `[modules.mod${m}.roles]`, `a = "pm${a}"`, `b = "pm${b}"`, '');
    }
  }
  return out.join('\n');
}

interface Row {
  measured: string;
  seed: string;
  ours: string;
  floor: string;
  ratio: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const us = (ms: number) => `${(ms * 1000).toFixed(3)} us`;
const msf = (ms: number) => `${ms.toFixed(3)} ms`;

/** Median over rounds of the per-call time of `body` run over every id, in ms per call. */
function perCall(ids: string[], rounds: number, body: (id: string) => unknown): number {
  let sink = 0;
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (const id of ids) if (body(id)) sink++;
    samples.push((performance.now() - t) / ids.length);
  }
  if (sink < 0) console.log(sink); // keep the loop from being optimised away
  return median(samples);
}

function inProcess(text: string): Row[] {
  const ids = Array.from({ length: INSTRUMENTS }, (_, i) => `pm${i}`);
  // Graph build: a fresh config object each time, so the cache never hits.
  const builds: number[] = [];
  const copies: number[] = [];
  for (let r = 0; r < 30; r++) {
    const config = parse(text) as ConfigModel;
    let t = performance.now();
    dependencyGraph(config);
    builds.push(performance.now() - t);
    t = performance.now();
    const copy = new Map<string, unknown>();
    for (const [id, table] of Object.entries(config.instruments ?? {})) copy.set(id, table);
    copies.push(performance.now() - t);
  }

  const config = parse(text) as ConfigModel;
  dependencyGraph(config); // warm: the daemon's steady state between changes
  const used = ids.filter((id) => dependentsOf(config, id).length > 0).length;
  const plain = new Map(ids.map((id) => [id, [id]]));
  const query = perCall(ids, 200, (id) => dependentsOf(config, id).length);
  const floor = perCall(ids, 200, (id) => plain.get(id)!.length);
  return [
    {
      measured: `in-process dependentsOf, cached graph (${used}/${INSTRUMENTS} instruments used)`,
      seed: SEED_TARGET,
      ours: us(query),
      floor: `${us(floor)} Map.get`,
      ratio: `${(query / floor).toFixed(1)}x`,
    },
    {
      measured: `in-process graph build (first query after a change), ${MODULES} modules`,
      seed: SEED_TARGET,
      ours: msf(median(builds)),
      floor: `${msf(median(copies))} Map of ${INSTRUMENTS} ids`,
      ratio: `${(median(builds) / median(copies)).toFixed(1)}x`,
    },
  ];
}

async function overSocket(text: string): Promise<Row[]> {
  const startedAt = performance.now();
  const d = await startDaemon({ config: text, readyTimeoutMs: 120_000 });
  const startupS = (performance.now() - startedAt) / 1000;
  const client = await d.client();
  try {
    const status = await client.call('daemon.status');
    if (status.instruments.total !== INSTRUMENTS || status.modules.total !== MODULES) {
      throw new Error(`daqd runs ${status.instruments.total} instruments / ${status.modules.total} modules, expected ${INSTRUMENTS} / ${MODULES}`);
    }
    const queries = 1000;
    const deps: number[] = [];
    const floor: number[] = [];
    const gets: number[] = [];
    for (let i = 0; i < queries; i++) {
      const id = `pm${(i * 37) % INSTRUMENTS}`;
      let t = performance.now();
      await client.call('instrument.dependencies', { id });
      deps.push(performance.now() - t);
      t = performance.now();
      await client.call('instrument.get', { id });
      gets.push(performance.now() - t);
      if (i % 5 === 0) {
        t = performance.now();
        await client.call('daemon.status');
        floor.push(performance.now() - t);
      }
    }
    return [
      {
        measured: `socket instrument.dependencies p50 (p99 ${msf(pct(deps, 0.99))}), daqd with ${INSTRUMENTS} instr / ${MODULES} modules (start ${startupS.toFixed(1)} s)`,
        seed: SEED_TARGET,
        ours: msf(median(deps)),
        floor: `${msf(median(floor))} daemon.status`,
        ratio: `${(median(deps) / median(floor)).toFixed(2)}x`,
      },
      {
        // daemon.status is heavy here; a one-instrument read shows the bare round trip.
        measured: 'socket instrument.get p50 (a one-instrument read, for scale)',
        seed: '-',
        ours: msf(median(gets)),
        floor: `${msf(median(floor))} daemon.status`,
        ratio: `${(median(gets) / median(floor)).toFixed(2)}x`,
      },
    ];
  } finally {
    client.close();
    await d.stop();
    await d.dispose();
  }
}

export async function run(): Promise<void> {
  const text = generateConfig();
  const rows = [...inProcess(text), ...(await overSocket(text))];
  console.table(rows);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
