/**
 * Twenty clients assign and unassign module roles at the same time over their own connections.
 * Afterwards every request has had an answer, the graph, module.list and the file agree, and the
 * answers themselves fit one serial order per role (no change lost or applied twice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError, type DaqClient } from '../../src/client/client.js';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { graphFromFile, graphFromModuleList, graphFromQueries, readText, sortedGraph } from './modules-helpers.js';

const CLIENTS = 20;
const OPS_PER_CLIENT = 8;
const SEED = 0x6d0d;
const METERS = ['pm1', 'pm2', 'pm3'];
const MONITORS = Array.from({ length: 6 }, (_, i) => `mon${i}`);
const DERIVED = Array.from({ length: 3 }, (_, i) => `der${i}`);

function config(): string {
  const meters = METERS.map((id) => `# Meter ${id}.\n[instruments.${id}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 1000\n`);
  const monitors = MONITORS.map((id, i) => `# Monitor ${i}.\n[modules.${id}]\ntype = "monitor"\nreading = "power"\nhigh = 1\n\n[modules.${id}.roles]\nsource = "${METERS[i % 3]}"\n`);
  const derived = DERIVED.map((id, i) => `[modules.${id}]\ntype = "derived"\nexpression = "a.power - b.power" # difference\n\n[modules.${id}.roles]\na = "${METERS[i % 3]}"\n`);
  return `# Concurrency bench.\n[application.dynamic_config]\nenable_persistence = true\n\n${[...meters, ...monitors, ...derived].join('\n')}`;
}

/** A module role, the unit the clients fight over. */
const SLOTS = [...MONITORS.map((m) => ({ module: m, role: 'source' })), ...DERIVED.flatMap((m) => [{ module: m, role: 'a' }, { module: m, role: 'b' }])];
const slotKey = (s: { module: string; role: string }) => `${s.module}.${s.role}`;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What one answered request did to a role: value before -> value after ('' = unassigned). */
interface Transition {
  slot: string;
  from: string;
  to: string;
}

/**
 * The transitions of one role fit a serial order from `initial` to `final` iff they form an Euler
 * trail: every value is entered as often as left (the start one more left, the end one more
 * entered) and all transitions are connected. Returns the reason if they do not.
 */
function serialOrderProblem(initial: string, final: string, ts: Transition[]): string | undefined {
  const balance = new Map<string, number>();
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    if (!parent.has(x)) parent.set(x, x);
    const p = parent.get(x)!;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  for (const t of ts) {
    balance.set(t.from, (balance.get(t.from) ?? 0) + 1);
    balance.set(t.to, (balance.get(t.to) ?? 0) - 1);
    parent.set(find(t.from), find(t.to));
  }
  balance.set(initial, (balance.get(initial) ?? 0) - 1);
  balance.set(final, (balance.get(final) ?? 0) + 1);
  const off = [...balance.entries()].filter(([, b]) => b !== 0);
  if (off.length > 0) return `unbalanced values ${JSON.stringify(off)} for ${JSON.stringify(ts)} from ${JSON.stringify(initial)} to ${JSON.stringify(final)}`;
  const roots = new Set([...ts.map((t) => find(t.from)), ...(ts.length ? [find(initial)] : [])]);
  if (roots.size > 1) return `disconnected transitions ${JSON.stringify(ts)}`;
  return undefined;
}

describe('twenty clients assigning roles at once', () => {
  let d: DaemonHandle;
  const clients: DaqClient[] = [];
  beforeAll(async () => {
    d = await startDaemon({ config: config() });
    for (let i = 0; i < CLIENTS; i++) clients.push(await d.client());
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await d?.dispose();
  });

  it('answers every request and ends with one consistent graph', async () => {
    const original = readText(d.configPath);
    const initial = new Map<string, string>();
    for (const m of (await d.call('module.list')).modules) {
      for (const role of ['source', 'a', 'b']) if (SLOTS.some((s) => s.module === m.id && s.role === role)) initial.set(`${m.id}.${role}`, m.roles[role] ?? '');
    }
    expect(initial.size).toBe(SLOTS.length);

    const random = mulberry32(SEED);
    const plans = clients.map(() =>
      Array.from({ length: OPS_PER_CLIENT }, () => {
        const slot = SLOTS[Math.floor(random() * SLOTS.length)]!;
        const assign = random() < 0.65;
        return assign
          ? { method: 'module.assign', params: { id: slot.module, role: slot.role, instrument: METERS[Math.floor(random() * METERS.length)]! } }
          : { method: 'module.unassign', params: { id: slot.module, role: slot.role } };
      }),
    );

    const transitions: Transition[] = [];
    const unexpected: string[] = [];
    let answered = 0;
    // Each client sends its requests one after another; the twenty clients run at once.
    await Promise.all(
      clients.map(async (client, c) => {
        for (const op of plans[c]!) {
          const slot = `${op.params.id}.${op.params.role}`;
          try {
            const r = await client.call(op.method, op.params);
            answered++;
            if (op.method === 'module.assign') transitions.push({ slot, from: r.replaced ?? '', to: r.instrument });
            else transitions.push({ slot, from: r.unassigned, to: '' });
          } catch (err) {
            answered++;
            // Unassigning a role another client already emptied is the one expected refusal.
            if (err instanceof RpcError && err.kind === 'not_found' && op.method === 'module.unassign') transitions.push({ slot, from: '', to: '' });
            else unexpected.push(`${op.method} ${JSON.stringify(op.params)}: ${String(err)}`);
          }
        }
      }),
    );
    expect(unexpected).toEqual([]);
    expect(answered).toBe(CLIENTS * OPS_PER_CLIENT);

    // The three views of the graph agree.
    const queried = sortedGraph(await graphFromQueries(d));
    expect(sortedGraph(await graphFromModuleList(d))).toEqual(queried);
    expect(sortedGraph(graphFromFile(d.configPath))).toEqual(queried);

    // Every role's answers fit one serial order ending in what module.list shows.
    const final = new Map<string, string>();
    for (const m of (await d.call('module.list')).modules) {
      for (const s of SLOTS.filter((s) => s.module === m.id)) final.set(slotKey(s), m.roles[s.role] ?? '');
    }
    for (const s of SLOTS) {
      const key = slotKey(s);
      const problem = serialOrderProblem(initial.get(key)!, final.get(key)!, transitions.filter((t) => t.slot === key));
      expect(problem, key).toBeUndefined();
    }

    // Module states follow their roles: a monitor without a source is degraded, with one it is not.
    for (const m of (await d.call('module.list')).modules) {
      const missing = SLOTS.filter((s) => s.module === m.id && !m.roles[s.role]);
      expect(m.state === 'degraded', `${m.id} ${m.state} roles ${JSON.stringify(m.roles)}`).toBe(missing.length > 0);
    }

    // Outside the role lines (and daqd's change notes) the file is what the person wrote.
    const rest = (text: string) =>
      text
        .split('\n')
        .filter((l) => !/^(source|a|b) = "pm\d"$/.test(l) && !l.startsWith('# daqd: '))
        .join('\n');
    expect(rest(readText(d.configPath))).toBe(rest(original));
    const status = await d.call('daemon.status');
    expect(status.persistence.upToDate).toBe(true);
  });
});
