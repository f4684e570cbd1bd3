// HTTP framing figures (docs/http.md): SSE latency reading ts -> client with 50 instruments at 10 Hz, and
// POST /rpc requests/s against the Unix socket's in the same run. Run: node --import tsx bench/http-framing.ts
import { request } from 'node:http';
import { startDaemon, waitUntil } from '../test/helpers/daemon.js';
import { DaqClient } from '../src/client/client.js';

const N = 50;
let cfg = `[application.dynamic_config]\nenable_persistence = false\nenable_hot_reload = false\n[application.storage]\nenabled = false\n[application.http]\nport = 0\n`;
for (let i = 0; i < N; i++) cfg += `[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n`;
const h = await startDaemon({ config: cfg });
const url = await waitUntil(async () => (await h.call('daemon.status')).http?.url, 10000, 'url');
await waitUntil(async () => (await h.call('instrument.list')).instruments.every((i: any) => i.state === 'ready'), 20000, 'ready');
// SSE latency: reading ts -> received
const lat: number[] = [];
await new Promise<void>((resolve) => {
  const req = request(url + 'events?types=reading', (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      const now = Date.now();
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i); buf = buf.slice(i + 2);
        const line = block.split('\n').find((l) => l.startsWith('data: '));
        if (!line) continue;
        const ev = JSON.parse(line.slice(6));
        if (ev.type === 'reading') lat.push(now - Date.parse(ev.ts));
      }
      if (lat.length >= 5000) { req.destroy(); resolve(); }
    });
  });
  req.end();
});
lat.sort((a, b) => a - b);
console.log(`SSE reading ts -> client, ${N} instruments @10 Hz, n=${lat.length}: p50 ${lat[Math.floor(lat.length * 0.5)]} ms, p99 ${lat[Math.floor(lat.length * 0.99)]} ms`);
// req/s: 20 concurrent, 3 s each
async function rpcHttp() {
  return new Promise<void>((resolve, reject) => {
    const r = request(url + 'rpc', { method: 'POST', headers: { 'content-type': 'application/json' }, agent: agent }, (res) => { res.resume(); res.on('end', resolve); });
    r.on('error', reject);
    r.end('{"jsonrpc":"2.0","id":1,"method":"instrument.get","params":{"id":"pm1"}}');
  });
}
import { Agent } from 'node:http';
const agent = new Agent({ keepAlive: true, maxSockets: 20 });
async function rate(fn: () => Promise<unknown>, conc = 20, ms = 3000) {
  let n = 0; const end = Date.now() + ms;
  await Promise.all(Array.from({ length: conc }, async () => { while (Date.now() < end) { await fn(); n++; } }));
  return Math.round(n / (ms / 1000));
}
const c = await DaqClient.connect(h.socketPath);
console.log(`HTTP /rpc instrument.get: ${await rate(rpcHttp)} req/s (20 concurrent, keep-alive)`);
console.log(`socket instrument.get: ${await rate(() => c.call('instrument.get', { id: 'pm1' }))} req/s (20 concurrent on one connection)`);
c.close();
agent.destroy();
await h.dispose();
