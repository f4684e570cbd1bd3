/**
 * The dependency graph: which modules use which instrument, in which roles. It is derived from
 * the running config each time it is asked for (and cached per config object), so it cannot drift
 * from the config whatever path changed it: socket, reload, transactions, rollback.
 */
import type { ConfigView } from '../config/model.js';

export interface RoleUse {
  module: string;
  role: string;
  moduleType: string;
}

export type DependencyGraph = ReadonlyMap<string, readonly RoleUse[]>;

const cache = new WeakMap<object, DependencyGraph>();

export function dependencyGraph(config: ConfigView): DependencyGraph {
  const hit = cache.get(config);
  if (hit) return hit;
  const graph = new Map<string, RoleUse[]>();
  for (const [module, table] of Object.entries(config.modules ?? {})) {
    for (const [role, instrument] of Object.entries(table.roles ?? {})) {
      const uses = graph.get(instrument) ?? [];
      uses.push({ module, role, moduleType: table.type });
      graph.set(instrument, uses);
    }
  }
  cache.set(config, graph);
  return graph;
}

export function dependentsOf(config: ConfigView, instrument: string): readonly RoleUse[] {
  return dependencyGraph(config).get(instrument) ?? [];
}
