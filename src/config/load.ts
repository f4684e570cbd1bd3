/**
 * Reading a config: TOML text -> document model -> validated. Syntax and validation problems come
 * back as one `validation_failed` DaqError listing every issue with file, line and key.
 */
import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { DaqError } from '../errors.js';
import { configInvalid, type ConfigIssue } from './issues.js';
import type { ConfigModel } from './model.js';
import type { InstrumentSpec } from './resolve.js';
import { validateConfig } from './validate.js';

export interface LoadedConfig {
  text: string;
  model: ConfigModel;
  specs: Map<string, InstrumentSpec>;
}

/** Parse TOML text into the document model, or the syntax error with its line. */
export function parseToml(text: string): { model: ConfigModel } | { issue: ConfigIssue } {
  try {
    return { model: parse(text) as ConfigModel };
  } catch (err) {
    if (err instanceof TomlError) {
      const firstLine = err.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      return { issue: { path: '', line: err.line, message: `TOML syntax error: ${firstLine}` } };
    }
    return { issue: { path: '', message: `TOML syntax error: ${String(err)}` } };
  }
}

/** Parse and validate config text; throws validation_failed with every issue. */
export function loadConfigText(text: string, file: string): LoadedConfig {
  const parsed = parseToml(text);
  if ('issue' in parsed) throw configInvalid(file, [parsed.issue]);
  const { issues, specs } = validateConfig(parsed.model, text);
  if (issues.length > 0) throw configInvalid(file, issues);
  return { text, model: parsed.model, specs };
}

export async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : String((err as Error).message);
    throw new DaqError('not_found', `cannot read config ${file}: ${why}`, { details: { file } });
  }
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  return loadConfigText(await readConfigFile(file), file);
}
