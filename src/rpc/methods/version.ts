/**
 * version.*: config versions (issue #19, docs/versions.md). A version id is a file name in
 * `<state dir>/config_versions/` without `.toml`, looked up in the directory listing only: an id
 * with a path separator, `..`, or not listed is `not_found`.
 */
import { z } from 'zod';
import { ifRevSchema } from '../../core/commands.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';

/** Any text: what is not a listed version answers not_found (never invalid_params, never a path). */
const versionId = z.string().min(1).max(1024);
const side = versionId.describe('a version id, "current" (the config file now), "running" (the running config as TOML) or "previous"');

export const versionMethods: MethodTable = {
  'version.create': {
    description: 'Snapshot the config file now: {label?} (1 to 64 of A-Z a-z 0-9 . _ -; a labelled snapshot is never removed by retention). Unlabelled and unchanged since the newest snapshot: that one is returned (created: false).',
    params: z.object({ label: z.string().max(256).optional() }).strict().optional(),
    result: R.versionCreate,
    handler: (p, { daemon, session }) => daemon.versions.create(p?.label, session.origin),
  },
  'version.list': {
    description: 'Every config version, newest first: {versions: [{id, time, label?, revision, cause, summary?, origin, auto, hash, bytes, problems?}]}. A corrupt or hand-edited one is listed with its problems.',
    params: z.object({}).strict().optional(),
    result: R.versionList,
    handler: (_p, { daemon }) => daemon.versions.list(),
  },
  'version.delete': {
    description: 'Delete a config version: {id}.',
    params: z.object({ id: versionId }).strict(),
    handler: (p, { daemon, session }) => daemon.versions.remove(p.id, session.origin),
  },
  'version.diff': {
    description: 'A unified line diff from a to b: {a, b?} (b defaults to "current"); each a version id, "current", "running" or "previous".',
    params: z.object({ a: side, b: side.optional() }).strict(),
    result: R.versionDiff,
    handler: (p, { daemon }) => daemon.versions.diff(p.a, p.b ?? 'current'),
  },
  'version.rollback': {
    description:
      'Restore a version: its exact text into the config file and the difference applied as one transaction (checkpoint, all or nothing, devices restored on failure). {id ("previous": before the last change), dryRun? (the plan; touches nothing), withActions? (also perform the actions the snapshot holds), timeout_s?, ifRev?}.',
    params: z
      .object({
        id: versionId,
        dryRun: z.boolean().optional(),
        withActions: z.boolean().optional(),
        timeout_s: z.number().positive().max(600).optional(),
        ifRev: ifRevSchema,
      })
      .strict(),
    result: R.versionRollback,
    handler: (p, { daemon, session }) => daemon.versions.rollback(p, session.origin),
  },
};
