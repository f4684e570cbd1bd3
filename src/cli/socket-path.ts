/**
 * Which socket daqctl talks to, the same from any directory (docs/daqctl.md, "Finding daqd"):
 *
 * 1. `--socket PATH`, else `$DAQD_SOCKET`, else `$DAQD_STATE_DIR/daqd.sock`: a path you named is the
 *    only one tried. Falling back to another socket would control a daemon you did not name.
 * 2. The project's socket. The project is the one of `--config FILE` or `$DAQD_CONFIG` when given,
 *    else the nearest directory at or above the current one holding `.daq/daqd.sock` or
 *    `config/default.toml`. Its socket is `<project>/.daq/daqd.sock`; for a config file inside a
 *    directory named `config` the project is that directory's parent (the shipped layout:
 *    `lab/config/default.toml`, `lab/.daq/daqd.sock`), and `config/.daq/daqd.sock` is tried after it.
 * 3. `/run/daqd/daqd.sock` (a system-wide daqd), only when no project was found: inside a project
 *    whose daqd is down, another lab's daemon must not answer in its place.
 *
 * Pure apart from `exists` (injected for tests): the caller connects to each candidate in order.
 */
import { basename, dirname, join, resolve } from 'node:path';

export const SYSTEM_SOCKET = '/run/daqd/daqd.sock';
const STATE_DIR = '.daq';
const SOCKET_NAME = 'daqd.sock';

export interface Candidate {
  path: string;
  /** Why this path: shown when nothing answers. */
  from: string;
}

export interface Lookup {
  candidates: Candidate[];
  /** A note for the "nothing answers" message (e.g. why /run/daqd was not tried). */
  note?: string;
}

export interface LookupInput {
  socket?: string;
  config?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  exists?: (path: string) => boolean;
}

/** The sockets of the project a config file belongs to. */
function projectOfConfig(configFile: string, from: string): Candidate[] {
  const dir = dirname(configFile);
  const inConfigDir = basename(dir) === 'config';
  const root = inConfigDir ? dirname(dir) : dir;
  const out = [{ path: join(root, STATE_DIR, SOCKET_NAME), from: `${from} ${configFile}` }];
  if (inConfigDir) out.push({ path: join(dir, STATE_DIR, SOCKET_NAME), from: `${from} ${configFile}` });
  return out;
}

/** The nearest directory at or above `cwd` that is a daqd project, or undefined. */
export function findProject(cwd: string, exists: (path: string) => boolean): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (exists(join(dir, STATE_DIR, SOCKET_NAME)) || exists(join(dir, 'config', 'default.toml'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

export function socketCandidates(input: LookupInput): Lookup {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const exists = input.exists ?? (() => false);
  const at = (path: string) => resolve(cwd, path);

  if (input.socket) return { candidates: [{ path: at(input.socket), from: '--socket' }] };
  if (env.DAQD_SOCKET) return { candidates: [{ path: at(env.DAQD_SOCKET), from: '$DAQD_SOCKET' }] };
  if (env.DAQD_STATE_DIR) return { candidates: [{ path: at(join(env.DAQD_STATE_DIR, SOCKET_NAME)), from: '$DAQD_STATE_DIR' }] };

  if (input.config) return { candidates: projectOfConfig(at(input.config), 'project of --config') };
  if (env.DAQD_CONFIG) return { candidates: projectOfConfig(at(env.DAQD_CONFIG), 'project of $DAQD_CONFIG') };

  const project = findProject(cwd, exists);
  if (project) {
    const candidates = projectOfConfig(join(project, 'config', 'default.toml'), 'project').map((c) => ({ ...c, from: `project ${project}` }));
    return { candidates, note: `${SYSTEM_SOCKET} was not tried: you are inside the project ${project}; give --socket ${SYSTEM_SOCKET} for the system daqd` };
  }
  return { candidates: [{ path: SYSTEM_SOCKET, from: 'system daqd (no project found at or above the current directory)' }] };
}
