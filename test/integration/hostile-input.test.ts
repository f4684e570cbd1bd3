/**
 * Hostile and careless input through real daqd child processes and their real sockets (issue #16):
 * ids and method names that are Object.prototype members, and deeply nested JSON. Subscribers that
 * hang up, a --socket path that is not a socket and a permissive umask: hostile-sockets.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { mulberry32 } from '../helpers/prng.js';
import { RawClient } from './daemon-raw-client.js';
import { BUILT_INS, ERROR_LOG_LINE, ID_RULE, NO_FILE_CHANGES, STACK_LINE, meters, responses, runDaqd } from './hostile-input-helpers.js';

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
    // At the top of params too (zod's record copy used to drop it there without a word).
    raw.write('{"jsonrpc":"2.0","id":3100,"method":"instrument.get","params":{"__proto__":{"id":"pm1"},"id":"pm1"}}\n');
    const top = await raw.response(3100);
    expect(top.error?.data.kind).toBe('invalid_params');
    expect(top.error!.message).toContain('params.__proto__');
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

