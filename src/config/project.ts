/**
 * Where daqd's files are, the same wherever it is started (issue #17): `daqd` in a subdirectory of
 * the project, or under systemd (working directory /), must find the same config and state dir.
 *
 * - `--config` / `DAQD_CONFIG` given: resolved against the working directory (what the shell meant).
 *   Not given: the nearest `config/default.toml` in the working directory or a parent of it.
 * - The project root is the directory holding `config/` when the config is `<root>/config/<file>`,
 *   else the config file's own directory.
 * - `--state-dir` / `DAQD_STATE_DIR`: an absolute path as given; a relative one (the default `.daq`)
 *   is the project root's, never the working directory's.
 * - `--socket`: as given (relative to the working directory), else `<state dir>/daqd.sock`.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DaqError } from '../errors.js';

export const DEFAULT_CONFIG = join('config', 'default.toml');
export const DEFAULT_STATE_DIR = '.daq';

export interface ProjectPaths {
  configPath: string;
  root: string;
  stateDir: string;
  socketPath: string;
}

/** The nearest `config/default.toml` from `cwd` upwards; throws naming every path tried. */
export function findDefaultConfig(cwd: string): string {
  const tried: string[] = [];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, DEFAULT_CONFIG);
    tried.push(candidate);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new DaqError('not_found', `no config file: looked for ${tried.join(', ')}; give one with --config PATH (or DAQD_CONFIG)`, {
    details: { tried },
  });
}

export function projectRoot(configPath: string): string {
  const dir = dirname(configPath);
  return basename(dir) === 'config' ? dirname(dir) : dir;
}

export function projectPaths(opts: { config?: string; stateDir?: string; socket?: string }, cwd = process.cwd()): ProjectPaths {
  const configPath = opts.config ? resolve(cwd, opts.config) : findDefaultConfig(cwd);
  const root = projectRoot(configPath);
  const stateDirOpt = opts.stateDir ?? DEFAULT_STATE_DIR;
  const stateDir = isAbsolute(stateDirOpt) ? stateDirOpt : resolve(root, stateDirOpt);
  const socketPath = opts.socket ? resolve(cwd, opts.socket) : join(stateDir, 'daqd.sock');
  return { configPath, root, stateDir, socketPath };
}
