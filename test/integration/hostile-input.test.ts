/**
 * Hostile and careless input through real daqd child processes and their real sockets (issue #16):
 * ids and method names that are Object.prototype members, deeply nested JSON, subscribers that hang
 * up or stop reading, a --socket path that is not a socket, and a permissive umask.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaqClient } from '../../src/client/client.js';
import { DAQD_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { mulberry32 } from '../helpers/prng.js';
import { RawClient, type RpcMessage } from './daemon-raw-client.js';

const NO_FILE_CHANGES = `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false
`;

function meters(ids: string[], pollMs: number, extra = ''): string {
  return ids.map((id) => `[instruments.${id}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = ${pollMs}\n${extra}`).join('\n');
}

const BUILT_INS = Object.getOwnPropertyNames(Object.prototype);
const ID_RULE = /ids are 1 to 64 letters, digits, "_" or "-", and never a built-in name of JavaScript objects/;
/** pino's error level: daqd logs a "bug" at this level, and hostile input must never cause one. */
const ERROR_LOG_LINE = /"level":(50|60)/;
const STACK_LINE = /^\s+at /m;

interface Run {
  code: number | null;
  out: string;
}

/** Runs daqd to its exit (start-up refusals, --check-config). */
function runDaqd(args: string[], cwd: string, timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DAQD_BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daqd ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/**
 * daqd's open sockets (the fds a leaked connection holds). Files are left out: the recorder and
 * the history log open theirs when the first reading or change of a day arrives, which is not a
 * leak and would make a whole-fd count drift during the test.
 */
function fdCount(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed while we looked
    }
  }
  return sockets;
}

/** Every response object in the messages (a batch answer is one array message). */
function responses(messages: RpcMessage[]): RpcMessage[] {
  return messages.flatMap((m) => (Array.isArray(m) ? (m as RpcMessage[]) : [m])).filter((m) => m.method === undefined);
}

describe('ids and method names that are Object.prototype members', () => {
  let daqd: DaemonHandle;
  let raw: RawClient;

  beforeAll(async () => {
    daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(['pm1'], 200) });
    raw = await RawClient.connect(daqd.socketPath);
  });
  afterAll(async () => {
    raw?.close();
    await daqd?.dispose();
  });

  it('a method named "constructor", "__proto__", "toString", ... is method_not_found', async () => {
    let id = 1000;
    for (const name of BUILT_INS) {
      raw.request(++id, name);
      const r = await raw.response(id);
      expect(r.error, name).toMatchObject({ code: -32601, data: { kind: 'method_not_found' } });
      expect(r.error!.message).toContain(`"${name}"`);
    }
  });

  it('an id that is a built-in name is invalid_params naming the rule, on every method that takes one', async () => {
    let id = 2000;
    for (const name of BUILT_INS) {
      raw.request(++id, 'instrument.get', { id: name });
      const r = await raw.response(id);
      expect(r.error, name).toMatchObject({ code: -32602, data: { kind: 'invalid_params' } });
      expect(r.error!.message).toContain(`"${name}" is a built-in name of JavaScript objects`);
      expect(r.error!.message).toMatch(ID_RULE);
    }
    const calls: [string, object][] = [
      ['instrument.remove', { id: 'toString' }],
      ['instrument.dependencies', { id: 'constructor' }],
      ['instrument.add', { id: 'valueOf', config: { driver: 'newport_1830c', port: 'sim' } }],
      ['instrument.set', { id: 'hasOwnProperty', params: { wavelength_nm: 700 } }],
      ['module.get', { id: '__defineGetter__' }],
      ['module.assign', { id: 'x', role: 'source', instrument: 'constructor' }],
      ['events.subscribe', { instruments: ['constructor'] }],
    ];
    for (const [method, params] of calls) {
      raw.request(++id, method, params);
      const r = await raw.response(id);
      expect(r.error?.data.kind, method).toBe('invalid_params');
      expect(r.error!.message).toMatch(ID_RULE);
    }
    raw.write('{"jsonrpc":"2.0","id":2999,"method":"instrument.get","params":{"id":"__proto__"}}\n');
    expect((await raw.response(2999)).error!.message).toContain('"__proto__" is a built-in name');
  });

  it('an id longer than 64 characters is refused naming the rule; 64 is fine', async () => {
    raw.request(3001, 'instrument.get', { id: 'x'.repeat(65) });
    const r = await raw.response(3001);
    expect(r.error?.data.kind).toBe('invalid_params');
    expect(r.error!.message).toMatch(/65 characters long/);
    raw.request(3002, 'instrument.get', { id: 'x'.repeat(64) });
    expect((await raw.response(3002)).error?.data.kind).toBe('not_found');
  });

  it('a "__proto__" key anywhere in params is refused, never silently dropped', async () => {
    raw.write('{"jsonrpc":"2.0","id":3101,"method":"instrument.set","params":{"id":"pm1","params":{"__proto__":900}}}\n');
    const r = await raw.response(3101);
    expect(r.error?.data.kind).toBe('invalid_params');
    expect(r.error!.message).toContain('params.params.__proto__');
    raw.write('{"jsonrpc":"2.0","id":3102,"method":"instrument.add","params":{"id":"pm9","config":{"driver":"newport_1830c","port":"sim","params":{"__proto__":{"wavelength_nm":1}}}}}\n');
    expect((await raw.response(3102)).error?.data.kind).toBe('invalid_params');
    raw.request(3103, 'instrument.add', { id: 'pm9', toml: 'driver = "newport_1830c"\nport = "sim"\n[params]\n__proto__ = 5\n' });
    expect((await raw.response(3103)).error!.message).toMatch(/toml: params\.__proto__/);
    raw.request(3104, 'instrument.list');
    expect((await raw.response(3104)).result.instruments.map((i: any) => i.id)).toEqual(['pm1']);
  });

  it('no error-level log line, and the daemon still answers', async () => {
    raw.request(3201, 'instrument.get', { id: 'pm1' });
    expect((await raw.response(3201)).result.id).toBe('pm1');
    expect(daqd.output()).not.toMatch(ERROR_LOG_LINE);
  });
});

describe.concurrent('a config with an id that is a built-in name', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-ids-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`[instruments.${name}]: --check-config exits 1 with the line and the rule`, async () => {
      const text = `${NO_FILE_CHANGES}\n${meters(['pm1'], 500)}\n[instruments.${name}]\ndriver = "newport_1830c"\nport = "sim"\n`;
      const line = text.split('\n').indexOf(`[instruments.${name}]`) + 1;
      writeFileSync(join(dir, `${name}.toml`), text);
      const r = await runDaqd(['--check-config', '--config', `${name}.toml`], dir);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`${name}.toml:${line}: instruments.${name}: "${name}" is a built-in name of JavaScript objects`);
      expect(r.out).toMatch(ID_RULE);
      expect(r.out).not.toMatch(STACK_LINE);
    });
  }

  it('[instruments.__proto__] (a key zod records skip): --check-config exits 1 with the line', async () => {
    const text = `${NO_FILE_CHANGES}\n${meters(['pm1'], 500)}\n[instruments.__proto__]\ndriver = "newport_1830c"\nport = "sim"\n`;
    const line = text.split('\n').indexOf('[instruments.__proto__]') + 1;
    writeFileSync(join(dir, 'proto.toml'), text);
    const r = await runDaqd(['--check-config', '--config', 'proto.toml'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`proto.toml:${line}: instruments.__proto__: "__proto__" is a built-in name of JavaScript objects`);
    expect(r.out).not.toMatch(STACK_LINE);
  });

  it('[modules.constructor] is refused with its line; so is a role naming "toString"', async () => {
    const head = `${meters(['pm1'], 500)}\n`;
    writeFileSync(join(dir, 'module-id.toml'), `${head}[modules.constructor]\ntype = "monitor"\nreading = "power"\nhigh = 1\nroles = { source = "pm1" }\n`);
    const r = await runDaqd(['--check-config', '--config', 'module-id.toml'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/module-id\.toml:\d+: modules\.constructor: "constructor" is a built-in name/);
    writeFileSync(join(dir, 'role.toml'), `${head}[modules.watch]\ntype = "monitor"\nreading = "power"\nhigh = 1\nroles = { source = "toString" }\n`);
    const r2 = await runDaqd(['--check-config', '--config', 'role.toml'], dir);
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(/role\.toml:\d+: modules\.watch\.roles\.source: "toString" is a built-in name/);
  });
});

describe('deeply nested JSON', () => {
  let daqd: DaemonHandle;
  let raw: RawClient;

  beforeAll(async () => {
    daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(['pm1'], 200) });
    raw = await RawClient.connect(daqd.socketPath);
  });
  afterAll(async () => {
    raw?.close();
    await daqd?.dispose();
  });

  async function nextRequestWorks(id: number): Promise<void> {
    raw.request(id, 'instrument.get', { id: 'pm1' });
    const ok = await raw.response(id);
    expect(ok.error).toBeUndefined();
    expect(ok.result.id).toBe('pm1');
  }

  it('a batch of 300,000 requests is refused whole with one invalid_request; the connection works on', async () => {
    const before = raw.messages.length;
    raw.write('[' + Array.from({ length: 300_000 }, () => '1').join(',') + ']\n');
    const r = await raw.waitFor((m) => raw.messages.indexOf(m) >= before, 5000, 'the answer to a huge batch');
    expect(r.error?.data.kind).toBe('invalid_request');
    expect(r.error!.message).toMatch(/more than 1000/);
    await nextRequestWorks(99);
  });

  it('a 100,000-deep [ frame gets an error response (not internal_error), no error log, and the connection works on', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const frames = [
      '['.repeat(100_000),
      deep,
      `{"jsonrpc":"2.0","id":1,"method":"instrument.get","params":{"id":${deep}}}`,
      `{"jsonrpc":"2.0","id":2,"method":"instrument.get","params":${deep}}`,
      `{"jsonrpc":"2.0","id":${deep},"method":"daemon.status"}`,
    ];
    let id = 10;
    for (const frame of frames) {
      const before = raw.messages.length;
      raw.write(frame + '\n');
      const r = await raw.waitFor((m) => raw.messages.indexOf(m) >= before, 5000, 'the answer to a deep frame');
      expect(r.error?.data.kind).toBe('parse_error');
      expect(r.error!.message).toMatch(/nested deeper than 64 levels/);
      await nextRequestWorks(++id);
    }
    expect(daqd.output()).not.toMatch(ERROR_LOG_LINE);
  });

  it('64 levels are parsed: the answer is about the params, not the nesting', async () => {
    // request object (1) > params (2) > id (3) > 61 more arrays = 64.
    const id61 = '['.repeat(62) + ']'.repeat(62);
    raw.write(`{"jsonrpc":"2.0","id":20,"method":"instrument.get","params":{"id":${id61}}}\n`);
    const r = await raw.response(20);
    expect(r.error?.data.kind).toBe('invalid_params');
    expect(r.error!.message).toMatch(/^instrument\.get: id: /);
    expect(r.error!.message.length).toBeLessThan(1000);
  });

  it('property: random JSON nesting never produces internal_error (seeded; the seed is in the failure)', async () => {
    const seed = 16_2026;
    const rand = mulberry32(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const nest = (depth: number, inner: string): string => {
      let text = inner;
      for (let i = 0; i < depth; i++) text = rand() < 0.5 ? `[${text}${rand() < 0.3 ? ',1' : ''}]` : `{"${pick(['id', 'k', '__proto__', 'constructor', 'params'])}":${text}}`;
      return text;
    };
    // No remove/assign: a shallow frame could be a valid request that removes pm1.
    const methodNames = ['instrument.get', 'instrument.set', 'instrument.add', 'module.add', 'daemon.status', 'config.reloadStatus', 'no.such', 'constructor'];
    const frames: string[] = [];
    for (let i = 0; i < 300; i++) {
      const depth = Math.floor(rand() * 130);
      const deep = nest(depth, pick(['1', '"pm1"', '[]', '{}', 'null', 'true']));
      const id = 100 + i;
      const method = JSON.stringify(pick(methodNames));
      const where = Math.floor(rand() * 7);
      frames.push(
        where === 0 ? deep
        : where === 1 ? `{"jsonrpc":"2.0","id":${id},"method":${method},"params":${deep}}`
        : where === 2 ? `{"jsonrpc":"2.0","id":${id},"method":${method},"params":{"id":${deep}}}`
        : where === 3 ? `{"jsonrpc":"2.0","id":${id},"method":${method},"params":{"id":"pm1","config":${deep},"params":${deep}}}`
        : where === 4 ? `{"jsonrpc":"2.0","id":${deep},"method":${method}}`
        : where === 5 ? `[{"jsonrpc":"2.0","id":${id},"method":${method},"params":{"id":${deep}}},${deep}]`
        : `{"jsonrpc":"2.0","id":${id},"method":${deep}}`,
      );
    }
    const before = raw.messages.length;
    for (const frame of frames) raw.write(frame + '\n');
    // One answer line per frame (a batch is answered with one array line).
    await waitUntil(() => raw.messages.length - before >= frames.length, 20_000, `answers to ${frames.length} frames (seed ${seed})`);
    const answers = responses(raw.messages.slice(before));
    const internal = answers.filter((m) => m.error?.data.kind === 'internal_error');
    expect(internal, `seed ${seed}`).toEqual([]);
    for (const a of answers) expect(a.error?.message.length ?? 0, `seed ${seed}`).toBeLessThan(1000);
    await nextRequestWorks(99);
    expect(daqd.output()).not.toMatch(ERROR_LOG_LINE);
  });
});

describe('subscribers that hang up or stop reading', () => {
  let daqd: DaemonHandle;
  const ids = ['pm1', 'pm2', 'pm3', 'pm4'];

  beforeAll(async () => {
    // Fast polls so a non-reading subscriber's buffers fill in a few seconds; a short heartbeat so
    // the stall check (4 intervals) runs within a test's timeout.
    daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(ids, 10, 'baud_rate = 115200\ncheck_status = false\n'), args: ['--heartbeat-ms', '250'] });
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  /** daemon.status once only the caller's own connection is left (nothing else connected). */
  async function settled(): Promise<any> {
    return waitUntil(
      async () => {
        const s = await daqd.call('daemon.status');
        return s.clients.connections === 1 && s.clients.subscribers === 0 ? s : undefined;
      },
      10_000,
      'daqd to count only the status connection',
    );
  }

  it('50 clients subscribe with a quiet filter and end: 0 subscribers, fds back to where they started', async () => {
    await settled();
    const fdsBefore = fdCount(daqd.proc.pid!);
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawClient.connect(daqd.socketPath)));
    await Promise.all(
      clients.map(async (c) => {
        c.request(1, 'events.subscribe', { types: ['module.alarm'], instruments: ['pm1'] });
        expect((await c.response(1)).result.subscribed).toBe(true);
      }),
    );
    expect((await daqd.call('daemon.status')).clients.subscribers).toBe(50);
    for (const c of clients) c.socket.end();
    const s = await settled();
    expect(s.clients.queuedEvents).toBe(0);
    // daqd ends its side too: each client sees the close.
    await waitUntil(() => clients.every((c) => c.isClosed), 10_000, 'daqd to close the 50 connections');
    await waitUntil(() => Math.abs(fdCount(daqd.proc.pid!) - fdsBefore) <= Math.max(1, fdsBefore * 0.1), 10_000, `daqd's fd count back to ${fdsBefore}`);
  });

  it('a half-open subscriber (end while events keep coming for it, reading nothing) is cleaned up', async () => {
    await settled();
    const fdsBefore = fdCount(daqd.proc.pid!);
    const half = await RawClient.connect(daqd.socketPath);
    half.request(1, 'events.subscribe', {});
    await half.response(1);
    await half.waitFor((m) => m.method === 'reading', 5000, 'readings to flow');
    half.socket.pause();
    half.socket.end();
    const s = await settled();
    expect(s.clients.queuedEvents).toBe(0);
    await waitUntil(() => Math.abs(fdCount(daqd.proc.pid!) - fdsBefore) <= Math.max(1, fdsBefore * 0.1), 10_000, `daqd's fd count back to ${fdsBefore}`);
    half.close();
  });

  it('a subscriber that stops reading for good (no FIN) is closed once its output has not moved for 4 heartbeat intervals', async () => {
    await settled();
    const fdsBefore = fdCount(daqd.proc.pid!);
    const frozen = await RawClient.connect(daqd.socketPath);
    frozen.request(1, 'events.subscribe', {});
    await frozen.response(1);
    const warnings = () => daqd.output().split('closing a client connection that read nothing').length - 1;
    const warnedBefore = warnings();
    frozen.socket.pause();
    await waitUntil(() => warnings() > warnedBefore, 20_000, 'daqd to close the connection that reads nothing');
    await settled();
    await waitUntil(() => Math.abs(fdCount(daqd.proc.pid!) - fdsBefore) <= Math.max(1, fdsBefore * 0.1), 10_000, `daqd's fd count back to ${fdsBefore}`);
    frozen.close();
  });

  it('a subscriber on a quiet filter gets daemon.heartbeat; a reading one stays connected', async () => {
    const quiet = await RawClient.connect(daqd.socketPath);
    quiet.request(1, 'events.subscribe', { types: ['module.alarm'] });
    await quiet.response(1);
    const hb = await quiet.waitFor((m) => m.method === 'daemon.heartbeat', 5000, 'a heartbeat');
    expect(hb.params.intervalMs).toBe(250);
    expect(Number.isNaN(Date.parse(hb.params.at))).toBe(false);
    // Many intervals later it is still connected and answering.
    const count = quiet.messages.filter((m) => m.method === 'daemon.heartbeat').length;
    await quiet.waitFor(() => quiet.messages.filter((m) => m.method === 'daemon.heartbeat').length >= count + 6, 5000, 'more heartbeats');
    quiet.request(2, 'daemon.status');
    expect((await quiet.response(2)).result.clients.subscribers).toBe(1);
    quiet.close();
  });

  it('a client that sends requests and ends gets every answer, then daqd closes', async () => {
    const c = await RawClient.connect(daqd.socketPath);
    c.request(1, 'events.subscribe', {});
    for (let i = 2; i <= 20; i++) c.request(i, 'instrument.get', { id: 'pm1' });
    c.socket.end();
    await waitUntil(() => c.isClosed, 10_000, 'daqd to close after answering');
    const answered = new Set(responses(c.messages).map((m) => m.id));
    for (let i = 1; i <= 20; i++) expect(answered.has(i), `answer ${i}`).toBe(true);
    await settled();
  });
});

describe.concurrent('--socket at a path that is not a socket', () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-sockpath-'));
    config = join(dir, 'c.toml');
    writeFileSync(config, NO_FILE_CHANGES + meters(['pm1'], 500));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a regular file: exit 1 naming the path and the type; the file is untouched', async () => {
    const file = join(dir, 'precious.txt');
    writeFileSync(file, 'lab notebook\n');
    const r = await runDaqd(['--config', config, '--state-dir', join(dir, 'st1'), '--socket', file], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the socket path ${file} is a regular file, not a socket`);
    expect(r.out).not.toMatch(STACK_LINE);
    expect(readFileSync(file, 'utf8')).toBe('lab notebook\n');
  });

  it('a directory: refused, left alone', async () => {
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    writeFileSync(join(sub, 'inside'), 'x');
    const r = await runDaqd(['--config', config, '--state-dir', join(dir, 'st2'), '--socket', sub], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`the socket path ${sub} is a directory, not a socket`);
    expect(existsSync(join(sub, 'inside'))).toBe(true);
  });

  it('a stale socket file (its process died) is replaced', async () => {
    const home = join(dir, 'stale');
    mkdirSync(join(home, 'state'), { recursive: true });
    const path = join(home, 'state', 'daqd.sock');
    // A process that binds the socket and dies without unlinking it.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      child.once('exit', resolve);
    });
    expect(code).toBeNull();
    expect(statSync(path).isSocket()).toBe(true);
    const daqd = await startDaemon({ config: NO_FILE_CHANGES + meters(['pm1'], 500), dir: home });
    try {
      expect((await daqd.call('daemon.status')).pid).toBe(daqd.proc.pid);
      expect(statSync(path).mode & 0o777).toBe(0o660);
    } finally {
      await daqd.dispose();
    }
  });
});

describe('permissions under umask 000', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqd-umask-'));
    writeFileSync(join(dir, 'c.toml'), NO_FILE_CHANGES + meters(['pm1'], 500));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts daqd under `umask 000` and waits until it answers; the caller kills it. */
  async function startUnderUmask0(args: string[], socketPath: string): Promise<{ kill: () => Promise<void>; output: () => string }> {
    const child = spawn('sh', ['-c', `umask 000; exec "${process.execPath}" "${DAQD_BIN}" "$@"`, 'sh', '--config', join(dir, 'c.toml'), ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`daqd exited early:\n${out}`);
        try {
          const c = await DaqClient.connect(socketPath);
          await c.call('daemon.status');
          c.close();
          return true;
        } catch {
          return false;
        }
      },
      15_000,
      'daqd to answer',
    );
    return {
      output: () => out,
      kill: async () => {
        child.kill('SIGKILL');
        await exited;
      },
    };
  }

  it('the socket is 0660 from the moment it exists; the state dir is created 0750', async () => {
    const sockDir = join(dir, 'sockdir');
    mkdirSync(sockDir);
    const socketPath = join(sockDir, 'daqd.sock');
    const seen: number[] = [];
    // Every time the directory changes, look at the socket's mode at once.
    const watcher = watch(sockDir, () => {
      try {
        seen.push(statSync(socketPath).mode & 0o777);
      } catch {
        /* not there (yet, or any more) */
      }
    });
    const daqd = await startUnderUmask0(['--state-dir', join(dir, 'state'), '--socket', socketPath], socketPath);
    try {
      seen.push(statSync(socketPath).mode & 0o777);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.map((m) => m.toString(8))).toEqual(seen.map(() => '660'));
      expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o750);
    } finally {
      watcher.close();
      await daqd.kill();
    }
  });

  it('the default socket inside a state dir daqd creates: 0660 in 0750', async () => {
    const state = join(dir, 'state-default');
    const daqd = await startUnderUmask0(['--state-dir', state], join(state, 'daqd.sock'));
    try {
      expect(statSync(state).mode & 0o777).toBe(0o750);
      expect(statSync(join(state, 'daqd.sock')).mode & 0o777).toBe(0o660);
    } finally {
      await daqd.kill();
    }
  });

  // With the socket inside it, a world-writable directory is refused (issue #20: test/integration/service-socket.test.ts).
  it('an existing world-writable state dir (the socket elsewhere): daqd runs and warns', async () => {
    const state = join(dir, 'state-open');
    mkdirSync(state);
    chmodSync(state, 0o777);
    const socketPath = join(dir, 'sock-closed', 'daqd.sock');
    const daqd = await startUnderUmask0(['--state-dir', state, '--socket', socketPath], socketPath);
    try {
      expect(daqd.output()).toMatch(/state directory .* is world-writable \(mode 777\)/);
    } finally {
      await daqd.kill();
    }
  });
});
