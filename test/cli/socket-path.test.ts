/**
 * Which socket daqctl tries, from any directory (src/cli/socket-path.ts): a named socket only;
 * else the project of --config / $DAQD_CONFIG / the nearest project directory at or above the
 * current one, by daqd's own rules (src/config/project.ts); /run/daqd only outside any project.
 */
import { describe, expect, it } from 'vitest';
import { findProject, socketCandidates, SYSTEM_SOCKET } from '../../src/cli/socket-path.js';

const files = (...paths: string[]) => {
  const set = new Set(paths);
  return (p: string) => set.has(p);
};
const paths = (l: { candidates: { path: string }[] }) => l.candidates.map((c) => c.path);

describe('socket lookup', () => {
  it('--socket, then $DAQD_SOCKET: only the path named (relative to the current directory)', () => {
    const env = { DAQD_SOCKET: '/a/env.sock', DAQD_STATE_DIR: '/b/state', DAQD_CONFIG: '/c/config/default.toml' };
    expect(paths(socketCandidates({ socket: 'my.sock', env, cwd: '/work' }))).toEqual(['/work/my.sock']);
    expect(paths(socketCandidates({ env, cwd: '/work' }))).toEqual(['/a/env.sock']);
  });

  it('--config / $DAQD_CONFIG: the project of the file, wherever daqctl runs (its root: the parent of config/)', () => {
    expect(paths(socketCandidates({ config: '/lab/config/default.toml', env: {}, cwd: '/tmp' }))).toEqual(['/lab/.daq/daqd.sock']);
    expect(paths(socketCandidates({ env: { DAQD_CONFIG: '/srv/lab2/bench.toml' }, cwd: '/' }))).toEqual(['/srv/lab2/.daq/daqd.sock']);
    expect(paths(socketCandidates({ config: 'bench.toml', env: {}, cwd: '/srv/lab3' }))).toEqual(['/srv/lab3/.daq/daqd.sock']);
  });

  it('$DAQD_STATE_DIR: relative to the project root, as daqd takes it; absolute as given', () => {
    expect(paths(socketCandidates({ config: '/lab/config/default.toml', env: { DAQD_STATE_DIR: 'var/state' }, cwd: '/tmp' }))).toEqual(['/lab/var/state/daqd.sock']);
    expect(paths(socketCandidates({ env: { DAQD_CONFIG: '/lab/config/default.toml', DAQD_STATE_DIR: '/run/lab' }, cwd: '/tmp' }))).toEqual(['/run/lab/daqd.sock']);
    expect(paths(socketCandidates({ env: { DAQD_STATE_DIR: 'state' }, cwd: '/work', exists: files() }))).toEqual(['/work/state/daqd.sock']);
  });

  it('otherwise the nearest project at or above the current directory (config/default.toml or .daq/daqd.sock)', () => {
    const exists = files('/home/ana/lab/config/default.toml', '/home/ana/.daq/daqd.sock');
    expect(findProject('/home/ana/lab/data/run1', exists)).toBe('/home/ana/lab');
    const l = socketCandidates({ env: {}, cwd: '/home/ana/lab/data/run1', exists });
    expect(paths(l)).toEqual(['/home/ana/lab/.daq/daqd.sock']);
    expect(l.note).toContain(`${SYSTEM_SOCKET} was not tried`);
    expect(findProject('/home/ana/notes', exists)).toBe('/home/ana');
  });

  it('outside any project: the system socket', () => {
    const l = socketCandidates({ env: {}, cwd: '/tmp/x', exists: files() });
    expect(paths(l)).toEqual([SYSTEM_SOCKET]);
    expect(l.candidates[0]!.from).toContain('no project found');
  });
});
