/**
 * Shared pieces of the modules integration tests: a small lab config with all three module types,
 * and ways to ask a running daqd what it thinks the dependency graph is (from each side: the
 * graph query, module.list and the file), so tests can check that the three agree.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { RpcError } from '../../src/client/client.js';
import { daqctl as runDaqctl, type RunResult } from '../helpers/run.js';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';

/**
 * pm1 and pm2 are power meters (reading `power`), laser is a MaiTai (settable `shutter`, no
 * `power` reading). watch monitors pm1, guard closes the laser shutter on pm1, ratio divides
 * pm1 by pm2. Short polls so readings reach the modules quickly; a short reload debounce.
 */
export const LAB_CONFIG = `# Modules integration bench: two meters, a laser, three modules.
[application]
name = "modules-it"

[application.dynamic_config]
enable_persistence = true
enable_hot_reload = true
hot_reload_debounce_ms = 50 # react quickly in tests

# Sample meter.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

# Reference meter.
[instruments.pm2]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 200

[instruments.laser.params]
shutter = true # open

# Alarm above 1 mW on the sample.
[modules.watch]
type = "monitor"
reading = "power"
high = 1e-3

[modules.watch.roles]
source = "pm1" # sample meter

# Close the shutter above 5 mW.
[modules.guard]
type = "interlock"
reading = "power"
above = 5e-3
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm1"
actuator = "laser"

# Sample over reference.
[modules.ratio]
type = "derived"
expression = "a.power / b.power"
output = "ratio"

[modules.ratio.roles]
a = "pm1"
b = "pm2"
`;

/** A use of an instrument as "module/role", sorted, so tests compare sets as plain arrays. */
export type Use = string;

export async function depsOf(d: DaemonHandle, instrument: string): Promise<Use[]> {
  const r = await d.call('instrument.dependencies', { id: instrument });
  return r.usedBy.map((u: { module: string; role: string }) => `${u.module}/${u.role}`).sort();
}

/** The graph as module.list sees it: instrument -> uses. */
export async function graphFromModuleList(d: DaemonHandle): Promise<Map<string, Use[]>> {
  const { modules } = await d.call('module.list');
  return invert(modules.map((m: { id: string; roles: Record<string, string> }) => [m.id, m.roles]));
}

/** The graph as the config file on disk says it is. */
export function graphFromFile(path: string): Map<string, Use[]> {
  const doc = parse(readFileSync(path, 'utf8')) as { modules?: Record<string, { roles?: Record<string, string> }> };
  return invert(Object.entries(doc.modules ?? {}).map(([id, m]) => [id, m.roles ?? {}]));
}

/** The graph as instrument.dependencies answers it, asked for every instrument. */
export async function graphFromQueries(d: DaemonHandle): Promise<Map<string, Use[]>> {
  const { instruments } = await d.call('instrument.list');
  const graph = new Map<string, Use[]>();
  for (const i of instruments as { id: string }[]) {
    const uses = await depsOf(d, i.id);
    if (uses.length > 0) graph.set(i.id, uses);
  }
  return graph;
}

function invert(modules: [string, Record<string, string>][]): Map<string, Use[]> {
  const graph = new Map<string, Use[]>();
  for (const [id, roles] of modules) {
    for (const [role, instrument] of Object.entries(roles)) graph.set(instrument, [...(graph.get(instrument) ?? []), `${id}/${role}`]);
  }
  for (const uses of graph.values()) uses.sort();
  return new Map([...graph.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export function sortedGraph(graph: Map<string, Use[]>): [string, Use[]][] {
  return [...graph.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** The error a call fails with (the test fails if it succeeds). */
export async function rpcError(call: Promise<unknown>): Promise<RpcError> {
  try {
    const result = await call;
    throw new Error(`expected the call to fail, it returned ${JSON.stringify(result)}`);
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
}

export type CtlResult = RunResult;

/** Runs the real daqctl against the daemon's socket. */
export function daqctl(d: DaemonHandle, ...args: string[]): Promise<CtlResult> {
  return runDaqctl(d.socketPath, args);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** `text` with the one line equal to `from` replaced by `to` (null = removed); fails if not exactly one. */
export function replaceLine(text: string, from: string, to: string | null): string {
  const lines = text.split('\n');
  const at = lines.flatMap((l, i) => (l === from ? [i] : []));
  if (at.length !== 1) throw new Error(`expected exactly one line ${JSON.stringify(from)}, found ${at.length}`);
  if (to === null) lines.splice(at[0]!, 1);
  else lines[at[0]!] = to;
  return lines.join('\n');
}

/**
 * A daqd on `config` with a subscriber to module events and readings, returned once every module
 * is running (everything connected before a test steers anything).
 */
export async function startModulesDaemon(config: string): Promise<{ d: DaemonHandle; rec: EventRecorder }> {
  const d = await startDaemon({ config });
  const rec = await EventRecorder.subscribe(d, { types: ['module.', 'reading'] });
  await waitUntil(
    async () => (await d.call('module.list')).modules.every((m: { state: string }) => m.state === 'running'),
    10_000,
    'every module to be running',
  );
  return { d, rec };
}
