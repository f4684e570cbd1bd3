/**
 * tx.*: transactions (issue #18, docs/transactions.md). The transaction id is `tx`; `id` is the
 * instrument or module, as in the direct commands.
 */
import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import { ifRevSchema } from '../../core/commands.js';
import type { StagedCommand } from '../../core/tx/types.js';
import type { Daemon } from '../../core/daemon.js';
import { inlineTable } from './inline-config.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';

const tx = z.string().min(1).max(64);
const paramValue = z.union([z.number(), z.boolean(), z.string()]);

const stage = (daemon: Daemon, id: string, command: StagedCommand) => daemon.tx.stage(id, command);

export const txMethods: MethodTable = {
  'tx.begin': {
    description: 'Begin a transaction: {id, baseRevision, expiresAt}. Staged changes are invisible to everyone else until tx.commit.',
    params: z.object({}).strict().optional(),
    result: R.txBegin,
    handler: (_p, { daemon, session }) => daemon.tx.begin(session.origin),
  },
  'tx.stageAdd': {
    description: 'Stage an instrument.add: {tx, id, config | toml}. Checked on its own now (same errors as instrument.add).',
    params: z.object({ tx, id: idSchema, config: z.record(z.string(), z.unknown()).optional(), toml: z.string().optional() }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'instrument.add', id: p.id, config: inlineTable(p.id, 'instruments', p.config, p.toml) }),
  },
  'tx.stageRemove': {
    description: 'Stage an instrument.remove: {tx, id, force?, cascade?}.',
    params: z.object({ tx, id: idSchema, force: z.boolean().optional(), cascade: z.boolean().optional() }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'instrument.remove', id: p.id, ...(p.force ? { force: true } : {}), ...(p.cascade ? { cascade: true } : {}) }),
  },
  'tx.stageSet': {
    description: 'Stage an instrument.set: {tx, id, params}. Setpoints go to the config; actions are performed at commit and never written to the file.',
    params: z.object({ tx, id: idSchema, params: z.record(z.string(), paramValue) }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'instrument.set', id: p.id, params: p.params }),
  },
  'tx.stageModuleAdd': {
    description: 'Stage a module.add: {tx, id, config | toml}.',
    params: z.object({ tx, id: idSchema, config: z.record(z.string(), z.unknown()).optional(), toml: z.string().optional() }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'module.add', id: p.id, config: inlineTable(p.id, 'modules', p.config, p.toml) }),
  },
  'tx.stageModuleRemove': {
    description: 'Stage a module.remove: {tx, id}.',
    params: z.object({ tx, id: idSchema }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'module.remove', id: p.id }),
  },
  'tx.stageAssign': {
    description: 'Stage a module.assign: {tx, id, role, instrument}.',
    params: z.object({ tx, id: idSchema, role: z.string().min(1), instrument: idSchema }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'module.assign', id: p.id, role: p.role, instrument: p.instrument }),
  },
  'tx.stageUnassign': {
    description: 'Stage a module.unassign: {tx, id, role}.',
    params: z.object({ tx, id: idSchema, role: z.string().min(1) }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'module.unassign', id: p.id, role: p.role }),
  },
  'tx.stageModuleSet': {
    description: 'Stage a module.set: {tx, id, settings}.',
    params: z.object({ tx, id: idSchema, settings: z.record(z.string(), z.unknown()) }).strict(),
    handler: (p, { daemon }) => stage(daemon, p.tx, { type: 'module.set', id: p.id, settings: p.settings }),
  },
  'tx.stageConfig': {
    description: 'Stage a config file or fragment (TOML) as the changes that take the running config there: {tx, toml, whole?} (whole: also remove what the file lacks).',
    params: z.object({ tx, toml: z.string().max(4_000_000), whole: z.boolean().optional() }).strict(),
    handler: (p, { daemon }) => daemon.tx.stageConfig(p.tx, p.toml, p.whole === true),
  },
  'tx.plan': {
    description: 'Dry run of a config file or fragment without a transaction: {toml, whole?, probe?} -> {ok, problems, plan}. Touches no device (probe opens the new ports and closes them).',
    params: z.object({ toml: z.string().max(4_000_000), whole: z.boolean().optional(), probe: z.boolean().optional() }).strict(),
    handler: (p, { daemon }) => daemon.tx.plan(p.toml, p.whole === true, p.probe === true),
  },
  'tx.validate': {
    description: 'Dry run: {tx, probe?} -> {ok, problems: [{op, opText, kind, path, message}], plan}. Never touches a device unless probe (opens the new ports and closes them).',
    params: z.object({ tx, probe: z.boolean().optional() }).strict(),
    handler: (p, { daemon }) => daemon.tx.validate(p.tx, { probe: p.probe === true }),
  },
  'tx.commit': {
    description:
      'Validate, checkpoint, apply, wait for readiness and confirmations (timeout_s, default 10), persist once; on failure restore the checkpoint and say which step failed. confirm_within_s + on_timeout ("hold" | "revert"): commit confirmed (the file is written by tx.confirm).',
    params: z
      .object({
        tx,
        timeout_s: z.number().positive().max(600).optional(),
        confirm_within_s: z.number().positive().max(86_400).optional(),
        on_timeout: z.enum(['hold', 'revert']).optional(),
        ifRev: ifRevSchema,
      })
      .strict(),
    result: R.commitResult,
    handler: (p, { daemon, session }) => {
      const { tx: id, ...req } = p;
      return daemon.tx.commit(id, req, session.origin);
    },
  },
  'tx.confirm': {
    description: 'Make a pending confirmed commit permanent (writes the config file): {tx?}.',
    params: z.object({ tx: tx.optional() }).strict().optional(),
    handler: (p, { daemon }) => daemon.tx.confirm(p?.tx),
  },
  'tx.rollback': {
    description: 'Discard a transaction: {tx}. A committed one waiting for its confirmation is reverted (refused if it performed actions).',
    params: z.object({ tx }).strict(),
    handler: (p, { daemon }) => daemon.tx.rollback(p.tx),
  },
  'tx.list': {
    description: 'Open transactions and the pending confirmed commit, if any.',
    params: z.object({}).strict().optional(),
    handler: (_p, { daemon }) => daemon.tx.list(),
  },
  'tx.get': {
    description: 'One transaction: its staged operations and the config it would produce (plan and changes against the running config).',
    params: z.object({ tx }).strict(),
    handler: (p, { daemon }) => daemon.tx.get(p.tx),
  },
};
