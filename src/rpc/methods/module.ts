import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import { ifRevSchema as ifRev } from '../../core/commands.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';
import { inlineTable } from './inline-config.js';

const persist = z.boolean().optional();

export const moduleMethods: MethodTable = {
  'module.list': {
    description: 'All modules with type, state, roles and status.',
    params: z.object({}).strict().optional(),
    result: z.looseObject({ revision: z.number().describe('config revision'), modules: z.array(R.moduleView) }),
    handler: (_p, { daemon }) => ({ revision: daemon.revision, modules: daemon.listModules() }),
  },
  'module.get': {
    description: 'One module.',
    params: z.object({ id: idSchema }).strict(),
    result: R.moduleView.extend({ configRevision: z.number() }),
    handler: (p, { daemon }) => ({ ...daemon.getModule(p.id), configRevision: daemon.revision }),
  },
  'module.add': {
    description: 'Add a module: {id, config: {type, roles, ...settings}} or {id, toml}.',
    params: z.object({ id: idSchema, config: z.record(z.string(), z.unknown()).optional(), toml: z.string().optional(), persist, ifRev }).strict(),
    handler: (p, { daemon, session }) =>
      daemon.submit({ type: 'module.add', id: p.id, config: inlineTable(p.id, 'modules', p.config, p.toml), persist: p.persist, ifRev: p.ifRev }, session.origin),
  },
  'module.remove': {
    description: 'Remove a module.',
    params: z.object({ id: idSchema, persist, ifRev }).strict(),
    handler: (p, { daemon, session }) => daemon.submit({ type: 'module.remove', ...p }, session.origin),
  },
  'module.assign': {
    description: 'Assign an instrument to a role of a module.',
    params: z.object({ id: idSchema, role: z.string().min(1), instrument: idSchema, persist, ifRev }).strict(),
    handler: (p, { daemon, session }) => daemon.submit({ type: 'module.assign', ...p }, session.origin),
  },
  'module.unassign': {
    description: 'Unassign a role of a module (a required role left empty makes it degraded).',
    params: z.object({ id: idSchema, role: z.string().min(1), persist, ifRev }).strict(),
    handler: (p, { daemon, session }) => daemon.submit({ type: 'module.unassign', ...p }, session.origin),
  },
  'module.set': {
    description: "Change a module's settings: {id, settings: {name: value, ...}} (null removes a setting). The module is recreated; an interlock's latch is kept.",
    params: z.object({ id: idSchema, settings: z.record(z.string(), z.unknown()), persist, ifRev }).strict(),
    result: R.moduleStatusResult,
    handler: (p, { daemon, session }) => daemon.submit({ type: 'module.set', ...p }, session.origin),
  },
  'module.reset': {
    description: 'Reset a latched module (interlock) or clear its alarm.',
    params: z.object({ id: idSchema }).strict(),
    result: R.moduleStatusResult,
    handler: (p, { daemon, session }) => daemon.submit({ type: 'module.reset', ...p }, session.origin),
  },
};
