/**
 * Who may use the command socket (issue #20): mode and group from [application.socket], created
 * with both from the first moment; a client outside the group (as `nobody`) is refused by the
 * file's permissions while a group member and root are served; a socket directory others may write
 * is refused; socket activation (listen on fd 3) leaves the socket to systemd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/daemon.js';
import { DAQD_BIN, METER, project, spawnDaqd } from '../service/helpers.js';

const NO_PERSIST = `[application.dynamic_config]\nenable_persistence = false\nenable_hot_reload = false\n`;
const DIALOUT = 20;
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const CLIENT = `const c=require('net').createConnection(process.argv[1]);c.on('connect',()=>c.write('{"jsonrpc":"2.0","id":1,"method":"daemon.status"}\\n'));let b='';c.on('data',d=>{b+=d;if(b.includes('\\n')){process.stdout.write(b);process.exit(0)}});c.on('error',e=>{process.stdout.write('ERR '+e.code);process.exit(3)})`;

/** daemon.status from a client process running as uid/gid (no supplementary groups). */
function callAs(uid: number, gid: number, socket: string): { ok: boolean; out: string } {
  const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '-e', CLIENT, socket], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0 && r.stdout.includes('"result"'), out: `${r.stdout}${r.stderr}` };
}

/** A project whose socket lives in <dir>/sock (0755 all the way, so only the socket's own mode decides). */
function openProject(config: string) {
  const p = project(config);
  chmodSync(p.dir, 0o755);
  mkdirSync(join(p.dir, 'sock'), { mode: 0o755 });
  const socketPath = join(p.dir, 'sock', 'daqd.sock');
  cleanup.push(() => p.dispose());
  return { ...p, socketPath };
}

async function answers(d: { call: (m: string) => Promise<any>; proc: { pid?: number; exitCode: number | null } }, out: () => string) {
  await waitUntil(async () => {
    if (d.proc.exitCode !== null) throw new Error(`daqd exited ${d.proc.exitCode}:\n${out()}`);
    return (await d.call('daemon.status').catch(() => undefined))?.pid === d.proc.pid;
  }, 15_000, 'daqd to answer');
}

describe.runIf(isRoot)('socket permissions (as root: the test runs clients as nobody)', () => {
  it('group from [application.socket]: nobody outside the group is refused, a member and root are served; never another group or mode', async () => {
    const p = openProject(NO_PERSIST + `\n[application.socket]\nmode = "0660"\ngroup = "dialout"\n` + METER('pm1'));
    const seen: string[] = [];
    const watcher = watch(join(p.dir, 'sock'), () => {
      try {
        const st = statSync(p.socketPath);
        seen.push(`${st.gid}:${(st.mode & 0o777).toString(8)}`);
      } catch {
        /* not there */
      }
    });
    cleanup.push(() => watcher.close());
    const daqd = spawnDaqd(p, {}, ['--socket', p.socketPath]);
    cleanup.push(() => daqd.kill());
    await answers(daqd, daqd.output);
    const st = statSync(p.socketPath);
    seen.push(`${st.gid}:${(st.mode & 0o777).toString(8)}`);
    expect(new Set(seen)).toEqual(new Set([`${DIALOUT}:660`]));

    const outsider = callAs(NOBODY, NOBODY, p.socketPath);
    expect(outsider.ok).toBe(false);
    expect(outsider.out).toContain('ERR EACCES');
    const member = callAs(NOBODY, DIALOUT, p.socketPath);
    expect(member.out).toContain(`"pid":${daqd.proc.pid}`);
    expect(member.ok).toBe(true);
    expect(callAs(0, 0, p.socketPath).ok).toBe(true);
    // The temporary name it was created under is gone.
    expect(existsSync(join(p.dir, 'sock', `.daqd.sock.${daqd.proc.pid}.tmp`))).toBe(false);
  });

  it('default (no [application.socket]): 0660 in daqd\'s own group; nobody is refused', async () => {
    const p = openProject(NO_PERSIST + METER('pm1'));
    const daqd = spawnDaqd(p, {}, ['--socket', p.socketPath]);
    cleanup.push(() => daqd.kill());
    await answers(daqd, daqd.output);
    const st = statSync(p.socketPath);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(process.getgid!());
    expect(callAs(NOBODY, NOBODY, p.socketPath).out).toContain('ERR EACCES');
    expect(callAs(NOBODY, DIALOUT, p.socketPath).out).toContain('ERR EACCES');
  });
});

describe('socket directory and mode', () => {
  it('a socket directory writable by others is refused before any port opens; a sticky one (like /tmp) is accepted', async () => {
    const p = openProject(NO_PERSIST + METER('pm1'));
    chmodSync(join(p.dir, 'sock'), 0o777);
    const refused = spawnDaqd(p, {}, ['--socket', p.socketPath]);
    cleanup.push(() => refused.kill());
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/socket's directory .*sock is writable by everyone \(mode 0777\).*chmod o-w/);
    expect(existsSync(p.socketPath)).toBe(false);

    chmodSync(join(p.dir, 'sock'), 0o1777);
    const sticky = spawnDaqd(p, {}, ['--socket', p.socketPath]);
    cleanup.push(() => sticky.kill());
    await answers(sticky, sticky.output);
  });

  it('a mode that lets others in is refused by the config check', () => {
    const p = openProject(NO_PERSIST + `\n[application.socket]\nmode = "0666"\n` + METER('pm1'));
    const r = spawnSync(process.execPath, [DAQD_BIN, '--config', p.configPath, '--check-config'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/must not be usable by others/);
  });

  it('an unknown group is refused at start with its name', async () => {
    const p = openProject(NO_PERSIST + `\n[application.socket]\ngroup = "no-such-group-daqd"\n` + METER('pm1'));
    const daqd = spawnDaqd(p, {}, ['--socket', p.socketPath]);
    cleanup.push(() => daqd.kill());
    expect(await daqd.exited).toBe(1);
    expect(daqd.output()).toMatch(/group "no-such-group-daqd" does not exist/);
  });
});

describe.runIf(spawnSync('systemd-socket-activate', ['--version']).status === 0)('socket activation', () => {
  it('listens on the fd systemd passes (LISTEN_FDS) and leaves the socket file to systemd at stop', async () => {
    const p = openProject(NO_PERSIST + METER('pm1'));
    const proc = spawn('systemd-socket-activate', ['-l', p.socketPath, '-E', 'DAQD_LOG_FORMAT=json', process.execPath, DAQD_BIN, '--config', p.configPath, '--socket', p.socketPath], {
      cwd: p.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('close', (c) => r(c)));
    cleanup.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    });
    await waitUntil(() => existsSync(p.socketPath), 10_000, 'systemd-socket-activate to create the socket');
    // The first connection starts daqd (exec'd in place of systemd-socket-activate: same pid).
    const { DaqClient } = await import('../../src/client/client.js');
    const c = await DaqClient.connect(p.socketPath);
    const status = await c.call<any>('daemon.status');
    c.close();
    expect(status.pid).toBe(proc.pid);
    // The ready line is logged right after listen(); the request above may be answered first.
    await waitUntil(() => /"activated":true/.test(out), 5000, 'the ready line saying it was socket-activated');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(statSync(p.socketPath).isSocket()).toBe(true);
  });
});
