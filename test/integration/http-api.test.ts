/**
 * The HTTP framing through a real daqd (loopback only, port 0): POST /rpc answers like the socket
 * (methods, errors, limits, the interlock's unsafe refusal), GET /events streams readings and
 * resumes from Last-Event-ID, and the HTTP safety rules (Origin, Host, content type, body size, token).
 */
import { request } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { DAQCTL_BIN, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';

const BASE = `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[application.storage]
enabled = false
`;

export const HTTP_CONFIG = (http = 'port = 0') => `${BASE}
[application.http]
${http}

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 20

[instruments.pm.params]
wavelength_nm = 800

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 200

[instruments.laser.params]
wavelength_nm = 800
shutter = false

[modules.guard]
type = "interlock"
reading = "power"
above = 1e-3
unit = "W"
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm"
actuator = "laser"
`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function httpUrl(h: DaemonHandle): Promise<string> {
  return waitUntil(async () => (await h.call('daemon.status')).http?.url as string | undefined, 10_000, 'the HTTP url in daemon.status');
}

describe('daqd over HTTP', () => {
  let h: DaemonHandle;
  let url: string;
  let n = 0;
  const rpc = async (method: string, params?: unknown, headers: Record<string, string> = {}) => {
    const r = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ jsonrpc: '2.0', id: ++n, method, ...(params ? { params } : {}) }) });
    return { ...r, json: r.body && r.headers["content-type"] === "application/json" ? JSON.parse(r.body) : undefined };
  };

  beforeAll(async () => {
    h = await startDaemon({ config: HTTP_CONFIG() });
    url = await httpUrl(h);
    await waitUntil(async () => (await h.call('instrument.list')).instruments.every((i: any) => i.state === 'ready'), 10_000, 'instruments ready');
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('listens on loopback on the port chosen, shown in daemon.status', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const s = (await rpc('daemon.status')).json.result;
    expect(s.http).toMatchObject({ enabled: true, host: '127.0.0.1', tokenRequired: false });
  });

  it('POST /rpc: the same methods, results and errors as the socket', async () => {
    const viaHttp = (await rpc('instrument.get', { id: 'pm' })).json.result;
    const viaSocket = await h.call('instrument.get', { id: 'pm' });
    expect(viaHttp.id).toBe('pm');
    expect(Object.keys(viaHttp).sort()).toEqual(Object.keys(viaSocket).sort());
    expect((await rpc('no.such.method')).json.error.data.kind).toBe('method_not_found');
    expect((await rpc('instrument.get', { id: 'pm', bogus: 1 })).json.error.data.kind).toBe('invalid_params');
    expect((await rpc('instrument.get', { id: 'nope' })).json.error.data.kind).toBe('not_found');
    expect((await rpc('events.subscribe')).json.error.message).toMatch(/GET \/events/);
    // Limits are the dispatcher's: a batch over 1000, nesting over 64.
    const big = JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'daemon.status' })));
    const r = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(JSON.parse(r.body).error.data.kind).toBe('invalid_request');
    const deep = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '['.repeat(100) + ']'.repeat(100) });
    expect(JSON.parse(deep.body).error.data.kind).toBe('parse_error');
    // A batch answers as an array; notifications alone get 204.
    const batch = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'daemon.status' }, { jsonrpc: '2.0', id: 2, method: 'instrument.list' }]) });
    expect(JSON.parse(batch.body)).toHaveLength(2);
    const note = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'daemon.status' }) });
    expect(note.status).toBe(204);
  });

  it('a set reaches the device; a set against a tripped interlock is refused with unsafe', async () => {
    const ok = await rpc('instrument.set', { id: 'pm', params: { wavelength_nm: 820 }, persist: false });
    expect(ok.json.result).toBeDefined();
    expect((await h.call('instrument.get', { id: 'pm' })).device.wavelength_nm).toBe(820);
    await rpc('instrument.set', { id: 'pm', params: { units: 'dBm' }, persist: false });
    await waitUntil(async () => (await h.call('daemon.status')).trouble.interlocks.length > 0, 10_000, 'the trip');
    const refused = await rpc('instrument.set', { id: 'laser', params: { shutter: true } });
    expect(refused.json.error.data.kind).toBe('unsafe');
    // The audit line says where the refused set came from.
    await waitUntil(() => /"origin":"http","instrument":"laser"[^\n]*"refused":"unsafe"/.test(h.output()), 5000, 'the audit line with origin http');
    expect((await h.call('instrument.get', { id: 'laser' })).device.shutter).toBe(false);
    await rpc('instrument.set', { id: 'pm', params: { units: 'W' }, persist: false });
  });

  it('refuses other origins, other Host names, other content types, and bodies over the limit', async () => {
    expect((await rpc('daemon.status', undefined, { origin: 'http://evil.example' })).status).toBe(403);
    const own = new URL(url);
    expect((await rpc('daemon.status', undefined, { origin: `http://${own.host}` })).status).toBe(200);
    expect((await rpc('daemon.status', undefined, { host: 'evil.example' })).status).toBe(403);
    const form = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"jsonrpc":"2.0","id":1,"method":"daemon.status"}' });
    expect(form.status).toBe(415);
    const huge = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) }).catch((e) => ({ status: 413, error: e }));
    expect(huge.status).toBe(413);
    expect((await http(url + 'rpc')).status).toBe(405);
    expect((await http(url + 'vendor/preact/../../package.json')).status).toBe(404);
    expect((await http(url + '%2e%2e/package.json')).status).toBe(404);
    expect((await http(url)).headers['set-cookie']).toBeUndefined();
  });

  it('GET /events streams readings with ids, and resumes from Last-Event-ID', async () => {
    const first = await readEvents(url + 'events?types=reading&instruments=pm', {}, (evs) => evs.filter((e) => e.data.type === 'reading').length >= 5);
    const readings = first.filter((e) => e.data.type === 'reading');
    expect(readings.every((e) => e.data.instrument === 'pm')).toBe(true);
    const lastId = readings[1]!.id!;
    const resumed = await readEvents(url + 'events?types=reading&instruments=pm', { 'last-event-id': String(lastId) }, (evs) => evs.some((e) => e.data.type === 'stream.open'));
    const ids = resumed.filter((e) => e.id !== undefined).map((e) => e.id!);
    expect(ids.every((id) => id > lastId)).toBe(true);
    expect(ids).toContain(readings[2]!.id);
  });
});

describe('daqd over HTTP with a token', () => {
  let h: DaemonHandle;
  let url: string;
  beforeAll(async () => {
    h = await startDaemon({ config: HTTP_CONFIG('port = 0\nrequire_token = true') });
    url = await httpUrl(h);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('refuses every request without the token; the token file is mode 0600; daqctl http-token prints it', async () => {
    const s = await h.call('daemon.status');
    expect(s.http.tokenRequired).toBe(true);
    expect(statSync(s.http.tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(s.http.tokenFile, 'utf8').trim();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'daemon.status' });
    expect((await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(401);
    expect((await http(url)).status).toBe(401);
    expect((await http(url + 'events')).status).toBe(401);
    expect((await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body })).status).toBe(401);
    const ok = await http(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    expect(JSON.parse(ok.body).result.http.tokenRequired).toBe(true);
    expect((await http(url + `vendor/preact/dist/preact.module.js?token=${encodeURIComponent(token)}`)).status).toBe(200);
    const printed = execFileSync(process.execPath, [DAQCTL_BIN, '--socket', h.socketPath, 'http-token'], { encoding: 'utf8' }).trim();
    expect(printed).toBe(token);
  });
});

interface Sse {
  id?: number;
  data: any;
}

/** Read an SSE stream until `done` says so; returns the events. */
function readEvents(url: string, headers: Record<string, string>, done: (evs: Sse[]) => boolean, timeoutMs = 10_000): Promise<Sse[]> {
  return new Promise((resolve, reject) => {
    const evs: Sse[] = [];
    const req = request(url, { headers }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: number | undefined;
          let data: string | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = Number(line.slice(4));
            if (line.startsWith('data: ')) data = line.slice(6);
          }
          if (data !== undefined) evs.push({ ...(id !== undefined ? { id } : {}), data: JSON.parse(data) });
        }
        if (done(evs)) {
          clearTimeout(t);
          req.destroy();
          resolve(evs);
        }
      });
    });
    const t = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out reading ${url}: ${JSON.stringify(evs).slice(0, 300)}`));
    }, timeoutMs);
    req.on('error', (e) => {
      if (!evs.length) reject(e);
    });
    req.end();
  });
}
