/**
 * docs/protocol.md's examples are true (issue #17): every request line in the doc (with the
 * response line that follows it, or none: then it is documented to succeed) is sent, in the doc's order, to a real daqd running the shipped config, and
 * the answer must be of the same sort: an error with the same `data.kind`, or a result with every
 * top-level key the doc shows (values are the doc's illustration, not compared). A doc that drifts
 * from the daemon (a renamed field, a method that now works or now refuses) fails here.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/client/client.js';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface Example {
  line: number;
  request: { id: number | string; method: string; params?: Record<string, unknown> };
  /** The documented response, or undefined when the doc abbreviates it (`…`) and it is not JSON. */
  response: { result?: Record<string, unknown>; error?: { data?: { kind?: string } } } | undefined;
  responseText: string;
}

function examples(): Example[] {
  const lines = readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const req = lines[i]!.trim();
    const res = (lines[i + 1] ?? '').trim();
    if (!req.startsWith('{"jsonrpc"')) continue;
    let request: Example['request'];
    try {
      request = JSON.parse(req);
    } catch {
      continue;
    }
    if (!('method' in request) || request.id === undefined) continue;
    let response: Example['response'];
    try {
      response = JSON.parse(res);
    } catch {
      response = undefined;
    }
    if (!res.startsWith('{"jsonrpc"')) response = undefined;
    // A request shown without its response is documented to succeed (e.g. a second way to add).
    const answered = res.startsWith('{"jsonrpc"') && res.includes(`"id":${JSON.stringify(request.id)}`) && !res.includes('"method"');
    out.push({ line: i + 1, request, response: answered ? response : { result: {} }, responseText: answered ? res : '{"result":{}}' });
  }
  return out;
}

/** A documented error's kind, from the parsed response or from the text when it is abbreviated. */
function documentedKind(e: Example): string | undefined {
  if (e.response?.error) return e.response.error.data?.kind;
  const m = /"error":.*"kind":"([a-z_]+)"/.exec(e.responseText);
  return m?.[1] ?? (e.responseText.includes('"error":') ? '?' : undefined);
}

describe('docs/protocol.md examples against a real daqd on the shipped config', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqd-docs-'));
    copyFileSync(join(ROOT, 'config/default.toml'), join(dir, 'default.toml'));
    d = await startDaemon({ config: undefined as unknown as string, dir });
    await waitUntil(async () => (await d.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 15_000, 'the shipped bench ready');
  });
  afterAll(async () => {
    await d?.dispose();
  });

  const all = examples();

  it('finds the examples', () => {
    expect(all.length).toBeGreaterThan(15);
  });

  it('every example answers as documented', async () => {
    const mismatches: string[] = [];
    for (const e of all) {
      // The doc removes pm_ref in one example and uses it in later ones: put it back first.
      if (e.request.params?.id === 'pm_ref' && e.request.method !== 'instrument.remove') {
        const ids = (await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id);
        if (!ids.includes('pm_ref')) {
          await d.call('instrument.add', { id: 'pm_ref', config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 500, params: { wavelength_nm: 800 } }, persist: false, wait: true });
        }
      }
      const wanted = documentedKind(e);
      let got: { result?: Record<string, unknown>; kind?: string };
      try {
        got = { result: await d.call(e.request.method, e.request.params) };
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        got = { kind: err.kind };
      }
      const where = `docs/protocol.md:${e.line} ${e.request.method}`;
      if (wanted !== undefined) {
        if (got.kind === undefined) mismatches.push(`${where}: documented error ${wanted}, got a result`);
        else if (wanted !== '?' && got.kind !== wanted) mismatches.push(`${where}: documented error ${wanted}, got ${got.kind}`);
        continue;
      }
      if (got.kind !== undefined) {
        mismatches.push(`${where}: documented a result, got error ${got.kind}`);
        continue;
      }
      const documented = e.response?.result;
      if (documented && typeof documented === 'object') {
        const missing = Object.keys(documented).filter((k) => !Object.hasOwn(got.result ?? {}, k));
        if (missing.length > 0) mismatches.push(`${where}: result lacks ${missing.join(', ')}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
