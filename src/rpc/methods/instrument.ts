import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import { ifRevSchema as ifRev } from '../../core/commands.js';
import type { MethodTable } from './types.js';
import * as R from './results.js';
import { inlineTable } from './inline-config.js';
import { composed } from '../json-text.js';

const id = z.object({ id: idSchema }).strict();
const paramValue = z.union([z.number(), z.boolean(), z.string()]);

export const instrumentMethods: MethodTable = {
  'instrument.list': {
    description: 'All instruments with driver, port, state, params and last reading.',
    params: z.object({}).strict().optional(),
    result: z.looseObject({ revision: z.number().describe('config revision'), instruments: z.array(R.instrumentView) }),
    handler: (_p, { daemon }) => ({ revision: daemon.revision, instruments: daemon.listInstruments() }),
  },
  'instrument.get': {
    description:
      'One instrument, with each parameter\'s kind (setpoint or action), configured and device value, and drift (device differs from config). refresh: read the values from the device first.',
    params: z.object({ id: idSchema, refresh: z.boolean().optional() }).strict(),
    result: R.instrumentView.extend({ configRevision: z.number(), parameters: z.array(R.parameterView), overrides: z.array(z.unknown()) }),
    handler: async (p, { daemon }) => {
      // Asked in loops by dashboards and scripts: the answer is the same object, never edited, while
      // nothing it shows changed (DaemonViews.describeInstrument), so its JSON text is made once.
      return composed(await daemon.describeInstrument(p.id, p.refresh ?? false), '', true);
    },
  },
  'instrument.enable': {
    description: 'Enable an instrument (enabled = true in the config): its port opens and it connects. wait: answer once it is ready or failed.',
    params: z.object({ id: idSchema, persist: z.boolean().optional(), wait: z.boolean().optional(), timeoutMs: z.number().int().min(0).max(600_000).optional(), ifRev }).strict(),
    result: R.instrumentChange,
    handler: async (p, { daemon, session }) => {
      const r = await daemon.submit({ type: 'instrument.enable', id: p.id, persist: p.persist, ifRev: p.ifRev }, session.origin);
      return p.wait ? { ...r, ...(await daemon.waitForConnection(p.id, p.timeoutMs ?? 10_000)) } : r;
    },
  },
  'instrument.disable': {
    description: 'Disable an instrument (enabled = false in the config): it stays configured, its port is closed and it is not polled.',
    params: z.object({ id: idSchema, persist: z.boolean().optional(), ifRev }).strict(),
    result: R.instrumentChange,
    handler: (p, { daemon, session }) => daemon.submit({ type: 'instrument.disable', id: p.id, persist: p.persist, ifRev: p.ifRev }, session.origin),
  },
  'instrument.restart': {
    description: 'Close the port and connect again with the same settings (setpoints restored, no action performed). wait: answer once it is ready or failed.',
    params: z.object({ id: idSchema, wait: z.boolean().optional(), timeoutMs: z.number().int().min(0).max(600_000).optional(), ifRev }).strict(),
    result: R.restartResult,
    handler: async (p, { daemon, session }) => {
      const r = await daemon.submit({ type: 'instrument.restart', id: p.id, ifRev: p.ifRev }, session.origin);
      return p.wait ? { ...r, ...(await daemon.waitForConnection(p.id, p.timeoutMs ?? 10_000)) } : r;
    },
  },
  'instrument.abort': {
    description: "Stop the instrument's operation in flight (the driver's stop: ESP300 ST, ELL14 st); its queued sets fail with kind aborted. The instrument stays ready.",
    params: id,
    result: R.abortResult,
    handler: (p, { daemon, session }) => daemon.abortInstrument(p.id, session.origin),
  },
  'instrument.add': {
    description: 'Add and start an instrument from an inline config: {id, config: {...}} or {id, toml: "..."}.',
    params: z
      .object({
        id: idSchema,
        config: z.record(z.string(), z.unknown()).optional(),
        toml: z.string().optional(),
        persist: z.boolean().optional(),
        /** Answer only once the instrument is ready or failed its first connection (or timeoutMs passed). */
        wait: z.boolean().optional(),
        timeoutMs: z.number().int().min(0).max(600_000).optional(),
        ifRev,
      })
      .strict(),
    result: R.addResult,
    handler: async (p, { daemon, session }) => {
      const added = await daemon.submit({ type: 'instrument.add', id: p.id, config: inlineTable(p.id, 'instruments', p.config, p.toml), persist: p.persist, ifRev: p.ifRev }, session.origin);
      if (!p.wait) return added;
      const outcome = await daemon.waitForConnection(p.id, p.timeoutMs ?? 10_000);
      return { ...added, ...outcome, instrument: daemon.getInstrument(p.id) };
    },
  },
  'instrument.remove': {
    description: 'Stop and remove an instrument. Refused (in_use) if a module uses it, unless force or cascade.',
    params: z
      .object({ id: idSchema, force: z.boolean().optional(), cascade: z.boolean().optional(), persist: z.boolean().optional(), ifRev })
      .strict(),
    result: R.removeResult,
    handler: (p, { daemon, session }) => daemon.submit({ type: 'instrument.remove', ...p }, session.origin),
  },
  'instrument.set': {
    description:
      'Set one or more parameters (and/or poll_interval_ms) on a running instrument: always sent to the device and confirmed by read-back, even when the config already holds the value; the config (and file) take the setpoints that changed (never actions). Refused with kind unsafe while an interlock holds the parameter.',
    params: z.object({ id: idSchema, params: z.record(z.string(), paramValue), persist: z.boolean().optional(), ifRev }).strict(),
    result: R.setResult,
    handler: (p, { daemon, session }) => daemon.submit({ type: 'instrument.set', ...p }, session.origin),
  },
  'instrument.dependencies': {
    description: 'Which modules use the instrument, in which roles.',
    params: id,
    handler: (p, { daemon }) => daemon.dependencies(p.id),
  },
};
