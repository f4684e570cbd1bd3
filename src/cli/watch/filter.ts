/**
 * Which events `daqctl watch` shows. Three filters, all optional, combined with "and":
 *
 * - event types (`--type reading,module.,instrument.state`): prefixes of the event type, as
 *   events.subscribe takes them; a prefix no daqd event starts with is a usage error.
 * - instruments (`watch ID...`): events about those instruments, and about the modules that use
 *   them (a tripped interlock on the laser's sensor is about the laser). Module readings of other
 *   modules are not shown.
 * - modules (`--module ID`): events about those modules. With both, events about either pass; with
 *   --module, the modules using the instruments are not added.
 *
 * With an instrument or module filter, events about neither (config.*, command.applied) are shown
 * only when --type names them. daemon.heartbeat (daqd's keep-alive) is never shown unless --type
 * names it.
 */
import { UsageError } from '../exit.js';
import { DAEMON_EVENT_TYPES } from '../../core/events.js';

/** Every notification daqd sends (docs/protocol.md): the bus's events and the session's own two. */
export const EVENT_TYPES = [...DAEMON_EVENT_TYPES, 'events.dropped', 'daemon.heartbeat'] as const;

/** "--type reading,module. --type config." -> ['reading', 'module.', 'config.']; unknown prefixes are usage errors. */
export function parseTypes(words: readonly string[] | undefined): string[] | null {
  if (!words || words.length === 0) return null;
  const types = words.flatMap((w) => w.split(',')).map((t) => t.trim()).filter(Boolean);
  if (types.length === 0) throw new UsageError('--type needs event types, e.g. --type reading,module.,instrument.state');
  for (const t of types) {
    if (!EVENT_TYPES.some((e) => e.startsWith(t))) {
      throw new UsageError(`--type ${t}: no daqd event type starts with "${t}" (types: ${EVENT_TYPES.join(', ')}; a prefix such as module. takes them all)`);
    }
  }
  return types;
}

export interface Selection {
  instruments: ReadonlySet<string> | null;
  modules: ReadonlySet<string> | null;
  types: readonly string[] | null;
}

/** module id -> the instruments assigned to its roles (kept current by the caller). */
export type ModuleRoles = ReadonlyMap<string, ReadonlySet<string>>;

export function typeSelected(selection: Selection, type: string): boolean {
  if (selection.types) return selection.types.some((t) => type.startsWith(t));
  return type !== 'daemon.heartbeat';
}

/** Whether a module's events pass the instrument/module filters. */
export function moduleSelected(selection: Selection, module: string, roles: ModuleRoles): boolean {
  if (!selection.instruments && !selection.modules) return true;
  if (selection.modules) return selection.modules.has(module);
  const uses = roles.get(module);
  return uses !== undefined && [...uses].some((i) => selection.instruments!.has(i));
}

export function instrumentSelected(selection: Selection, instrument: string): boolean {
  if (!selection.instruments && !selection.modules) return true;
  return selection.instruments?.has(instrument) ?? false;
}

export function eventSelected(selection: Selection, type: string, params: Record<string, unknown> | undefined, roles: ModuleRoles): boolean {
  if (!typeSelected(selection, type)) return false;
  const instrument = typeof params?.instrument === 'string' ? params.instrument : undefined;
  const module = typeof params?.module === 'string' ? params.module : undefined;
  if (instrument !== undefined && instrumentSelected(selection, instrument)) return true;
  if (module !== undefined && moduleSelected(selection, module, roles)) return true;
  if (instrument !== undefined || module !== undefined) return false;
  // About neither: shown without subject filters, or when asked for by type. Missed events are
  // about this very stream: always said.
  return (!selection.instruments && !selection.modules) || selection.types !== null || type === 'events.dropped';
}
