/** instrument.add / module.add accept the table as an object or as TOML text. */
import { parseToml } from '../../config/load.js';
import { DaqError } from '../../errors.js';
import { findProtoKey, pathText } from '../describe.js';
import { MAX_NESTING_DEPTH } from '../nesting.js';

/**
 * TOML text may be the bare table (`driver = "..."` + `[params]`) or a whole snippet with
 * `[instruments.<id>]` (`section` = "instruments"), as a person would copy it from a config file.
 */
export function inlineTable(
  id: string,
  section: 'instruments' | 'modules',
  config: Record<string, unknown> | undefined,
  toml: string | undefined,
): Record<string, unknown> {
  if (config && toml) throw new DaqError('invalid_params', 'give either config (an object) or toml (text), not both');
  if (config) return config;
  if (toml === undefined) throw new DaqError('invalid_params', `give the ${section === 'instruments' ? 'instrument' : 'module'} as config (an object) or toml (text)`);
  const parsed = parseToml(toml);
  if ('issue' in parsed) {
    throw new DaqError('invalid_params', `toml, line ${parsed.issue.line ?? '?'}: ${parsed.issue.message}`);
  }
  const doc = parsed.model as Record<string, unknown>;
  // The same refusal as for JSON params (connection.ts): a "__proto__" key never reaches the config.
  const protoKey = findProtoKey(doc, MAX_NESTING_DEPTH);
  if (protoKey) throw new DaqError('invalid_params', `toml: ${pathText(protoKey)}: the key "__proto__" is not allowed (it is a built-in name of JavaScript objects)`);
  const group = doc[section] as Record<string, Record<string, unknown>> | undefined;
  if (group && typeof group === 'object') {
    const tables = Object.keys(group);
    if (group[id]) return { ...group[id] };
    if (tables.length === 1) {
      throw new DaqError('invalid_params', `the TOML defines [${section}.${tables[0]}] but the id given is "${id}"`);
    }
    throw new DaqError('invalid_params', `the TOML has no [${section}.${id}] table`);
  }
  return { ...doc };
}
