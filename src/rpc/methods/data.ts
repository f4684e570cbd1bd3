import { z } from 'zod';
import { idSchema } from '../../config/schema.js';
import { DaqError } from '../../errors.js';
import { exportRows } from '../../services/recorder/export.js';
import type { MethodTable } from './types.js';

const time = z.union([z.string().min(1), z.number()]).optional();

function toMs(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new DaqError('invalid_params', `${name}: "${v}" is not a time (ISO 8601, e.g. 2026-11-30T09:00:00Z, or ms since 1970)`);
  return ms;
}

export const dataMethods: MethodTable = {
  'data.export': {
    description:
      'Recorded rows of one instrument (or id "events": the events file) between from (inclusive) and to (exclusive), read from the data dir: {columns, rows, files, truncated}. Values typed (numbers, booleans, strings, null for a column a file does not have). At most limit rows (default 1,000,000).',
    params: z.object({ id: idSchema, from: time, to: time, limit: z.number().int().min(1).max(10_000_000).optional() }).strict(),
    handler: async (p, { daemon }) => {
      const dataDir = daemon.recorder?.dataDir;
      if (!dataDir) throw new DaqError('unavailable', 'the recorder is not running');
      return { dataDir, ...(await exportRows(dataDir, { id: p.id, from: toMs(p.from, 'from'), to: toMs(p.to, 'to'), limit: p.limit })) };
    },
  },
};
