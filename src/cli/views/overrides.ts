/**
 * Memory-only changes (made with --no-persist, or while persistence is off): daqd runs them on top
 * of the file, a reload keeps them unless the edit touches the same key, and `daqctl sync` writes
 * them to the file. `status` and `get` list them so nobody mistakes the file for the whole story.
 */
import type { OverrideView } from '../../client/types.js';
import { formatSetting } from '../numbers.js';

function valueText(v: unknown): string {
  return v !== null && typeof v === 'object' ? '(a table)' : formatSetting(v);
}

/** "instruments.pm1.params.wavelength_nm = 633 (file: 800)"; `strip` removes a leading path part. */
export function overrideLine(o: OverrideView, strip = ''): string {
  const path = strip && o.path.startsWith(strip) ? o.path.slice(strip.length) : o.path;
  switch (o.kind) {
    case 'set':
      return `${path} = ${valueText(o.value)} (file: ${valueText(o.file)})`;
    case 'add':
      return `${path} = ${valueText(o.value)} (not in the file)`;
    case 'remove':
      return `${path} removed (file: ${valueText(o.file)})`;
  }
}

/** The lines of `daqctl status` about overrides; none when there are none. */
export function overrideSection(overrides: readonly OverrideView[] | undefined): string[] {
  if (!overrides || overrides.length === 0) return [];
  const n = overrides.length;
  return [`memory only: ${n} change${n === 1 ? '' : 's'} not in the file (daqctl sync writes ${n === 1 ? 'it' : 'them'}):`, ...overrides.map((o) => `  ${overrideLine(o)}`)];
}
