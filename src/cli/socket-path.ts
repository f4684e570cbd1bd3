/**
 * Which socket daqctl talks to, the same from any directory (docs/daqctl.md, "Finding daqd"). The
 * project rules are daqd's own (src/config/project.ts), so daqctl looks where daqd puts it:
 *
 * 1. `--socket PATH`, else `$DAQD_SOCKET`: a path you named is the only one tried. Falling back to
 *    another socket would control a daemon you did not name.
 * 2. The project's socket. The project is the one of `--config FILE` or `$DAQD_CONFIG` when given,
 *    else the nearest directory at or above the current one holding `config/default.toml` or
 *    `.daq/daqd.sock`. Its root is the directory holding `config/` for a config file in a directory
 *    named `config` (the shipped layout: `lab/config/default.toml`), else the config file's own
 *    directory; the socket is `<state dir>/daqd.sock`, the state dir `$DAQD_STATE_DIR` when set
 *    (relative to the root, as daqd takes it), else `<root>/.daq`.
 * 3. `/run/daqd/daqd.sock` (a system-wide daqd), only when no project was found: inside a project
 *    whose daqd is down, another lab's daemon must not answer in its place.
 *
 * Pure apart from `exists` (injected for tests): the caller connects to each candidate in order.
 */
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

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

/** The project root of a config file: the parent of a `config/` directory, else its own directory. */
function rootOf(configFile: string): string {
  const dir = dirname(configFile);
  return basename(dir) === 'config' ? dirname(dir) : dir;
}

/** The socket of the project at `root`. */
function projectSocket(root: string, env: NodeJS.ProcessEnv, from: string): Candidate {
  const stateDir = env.DAQD_STATE_DIR;
  if (!stateDir) return { path: join(root, STATE_DIR, SOCKET_NAME), from };
  return { path: join(isAbsolute(stateDir) ? stateDir : resolve(root, stateDir), SOCKET_NAME), from: `${from}, $DAQD_STATE_DIR` };
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

  if (input.config) return { candidates: [projectSocket(rootOf(at(input.config)), env, `project of --config ${at(input.config)}`)] };
  if (env.DAQD_CONFIG) return { candidates: [projectSocket(rootOf(at(env.DAQD_CONFIG)), env, `project of $DAQD_CONFIG ${at(env.DAQD_CONFIG)}`)] };

  const project = findProject(cwd, exists);
  if (project) {
    return {
      candidates: [projectSocket(project, env, `project ${project}`)],
      note: `${SYSTEM_SOCKET} was not tried: you are inside the project ${project}; give --socket ${SYSTEM_SOCKET} for the system daqd`,
    };
  }
  if (env.DAQD_STATE_DIR) return { candidates: [{ path: at(join(env.DAQD_STATE_DIR, SOCKET_NAME)), from: '$DAQD_STATE_DIR (no project found)' }] };
  return { candidates: [{ path: SYSTEM_SOCKET, from: 'system daqd (no project found at or above the current directory)' }] };
}
