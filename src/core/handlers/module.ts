/** module.add / remove / assign / unassign / set / reset. */
import { ownValue, setOwn } from '../../config/model.js';
import { DaqError } from '../../errors.js';
import type { ModuleModel } from '../../config/model.js';
import { moduleSettingsOf } from '../../config/validate.js';
import { getModuleType } from '../../modules/registry.js';
import { instrumentCapabilities, roleProblems } from '../../modules/capabilities.js';
import type { CommandOf, CommandResult } from '../commands.js';
import { specsOf, type Execution } from '../execution.js';

function requireModule(x: Execution, id: string) {
  const table = ownValue(x.config.modules, id);
  if (!table) throw new DaqError('not_found', `no module "${id}"`);
  return table;
}

export async function addModule(x: Execution, cmd: CommandOf<'module.add'>): Promise<CommandResult> {
  if (ownValue(x.config.modules, cmd.id)) throw new DaqError('already_exists', `module "${cmd.id}" already exists`);
  const table = cmd.config as ModuleModel;
  if (typeof table.type === 'string') getModuleType(table.type);
  const next = x.draft();
  next.modules = { ...(next.modules ?? {}), [cmd.id]: table };
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `module.add ${cmd.id}` });
  return { id: cmd.id, module: x.services.modules.view(cmd.id), persisted: outcome.persisted };
}

export async function removeModule(x: Execution, cmd: CommandOf<'module.remove'>): Promise<CommandResult> {
  requireModule(x, cmd.id);
  const next = x.draft();
  delete next.modules![cmd.id];
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `module.remove ${cmd.id}` });
  return { removed: cmd.id, persisted: outcome.persisted };
}

export async function assignRole(x: Execution, cmd: CommandOf<'module.assign'>): Promise<CommandResult> {
  const table = requireModule(x, cmd.id);
  const type = getModuleType(table.type);
  const settings = type.settingsSchema.parse(moduleSettingsOf(table));
  const role = type.roles(settings).find((r) => r.name === cmd.role);
  if (!role) {
    const roles = type.roles(settings).map((r) => r.name).join(', ');
    throw new DaqError('invalid_params', `module ${cmd.id} (${type.name}) has no role "${cmd.role}" (roles: ${roles})`);
  }
  if (!ownValue(x.config.instruments, cmd.instrument)) throw new DaqError('not_found', `no instrument "${cmd.instrument}"`);
  const spec = specsOf(x.config).get(cmd.instrument);
  if (spec) {
    const problems = roleProblems(role, instrumentCapabilities(spec));
    if (problems.length > 0) {
      throw new DaqError('invalid_params', `instrument "${cmd.instrument}" cannot fill role ${cmd.role} of ${cmd.id}: it ${problems.join(' and ')}`, {
        details: { module: cmd.id, role: cmd.role, instrument: cmd.instrument, missing: role.needs },
      });
    }
  }
  const next = x.draft();
  const target = next.modules![cmd.id]!;
  const previous = ownValue(target.roles, cmd.role);
  target.roles = { ...(target.roles ?? {}), [cmd.role]: cmd.instrument };
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `module.assign ${cmd.id}` });
  return { module: cmd.id, role: cmd.role, instrument: cmd.instrument, ...(previous ? { replaced: previous } : {}), state: x.services.modules.view(cmd.id)?.state, persisted: outcome.persisted };
}

export async function unassignRole(x: Execution, cmd: CommandOf<'module.unassign'>): Promise<CommandResult> {
  const table = requireModule(x, cmd.id);
  const previous = ownValue(table.roles, cmd.role);
  if (!previous) throw new DaqError('not_found', `module ${cmd.id} has no instrument assigned to role "${cmd.role}"`);
  const next = x.draft();
  delete next.modules![cmd.id]!.roles![cmd.role];
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `module.unassign ${cmd.id}` });
  return { module: cmd.id, role: cmd.role, unassigned: previous, state: x.services.modules.view(cmd.id)?.state, persisted: outcome.persisted };
}

export async function resetModule(x: Execution, cmd: CommandOf<'module.reset'>): Promise<CommandResult> {
  requireModule(x, cmd.id);
  return { module: cmd.id, status: x.services.modules.reset(cmd.id) };
}

/** Keys of a module table that module.set does not change: they have their own commands. */
const NOT_SETTINGS = new Set(['type', 'roles']);

/**
 * module.set: change a module's settings (limits, hysteresis, enabled...). `null` removes a
 * setting (back to its default). The module is recreated with the new settings; an interlock's
 * latch is carried over (a tripped interlock stays tripped and keeps holding).
 */
export async function setModule(x: Execution, cmd: CommandOf<'module.set'>): Promise<CommandResult> {
  requireModule(x, cmd.id);
  const keys = Object.keys(cmd.settings);
  const refused = keys.filter((k) => NOT_SETTINGS.has(k));
  if (refused.length > 0) {
    throw new DaqError('invalid_params', `module.set changes settings, not ${refused.join(' or ')}: use module.assign / module.unassign for roles, and remove and add the module to change its type`);
  }
  const next = x.draft();
  const target = next.modules![cmd.id]! as Record<string, unknown>;
  const changed: string[] = [];
  for (const key of keys) {
    const value = cmd.settings[key];
    if (value === null) {
      if (Object.hasOwn(target, key)) {
        delete target[key];
        changed.push(key);
      }
    } else if (JSON.stringify(target[key]) !== JSON.stringify(value)) {
      setOwn(target, key, value);
      changed.push(key);
    }
  }
  if (changed.length === 0) return { module: cmd.id, changed, persisted: { written: false, reason: 'no change to the config' } };
  const outcome = await x.commit(next, { persist: cmd.persist, requireLive: false, source: `module.set ${cmd.id}` });
  return { module: cmd.id, changed, state: x.services.modules.view(cmd.id)?.state, status: x.services.modules.view(cmd.id)?.status, persisted: outcome.persisted };
}
