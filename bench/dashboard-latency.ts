// Dashboard figures (docs/http.md): page load to first plotted point, and reading timestamp -> plotted
// in the page (p50/p99) with 50 instruments at 10 Hz, in Debian's chromium through playwright-core.
// Run: node --import tsx bench/dashboard-latency.ts
import { chromium } from 'playwright-core';
import { startDaemon, waitUntil } from '../test/helpers/daemon.js';

const N = 50;
let cfg = `[application.dynamic_config]\nenable_persistence = false\nenable_hot_reload = false\n[application.storage]\nenabled = false\n[application.http]\nport = 0\n`;
for (let i = 0; i < N; i++) cfg += `[instruments.pm${i}]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n`;
const h = await startDaemon({ config: cfg });
try {
  const url = await waitUntil(async () => (await h.call('daemon.status')).http?.url as string | undefined, 10000, 'url');
  await waitUntil(async () => (await h.call('instrument.list')).instruments.every((i: any) => i.state === 'ready'), 20000, 'ready');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => Number(document.querySelector('[data-points]')?.getAttribute('data-points') ?? 0) >= 1, null, { timeout: 20000 });
  const firstPlot = Date.now() - t0;
  await page.evaluate(() => ((globalThis as any).__daqdPlotLatencyMs = []));
  await new Promise((r) => setTimeout(r, 10_000));
  const lat: number[] = (await page.evaluate(() => (globalThis as any).__daqdPlotLatencyMs)).slice().sort((a: number, b: number) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  console.log(`page load to first plotted point: ${firstPlot} ms`);
  console.log(`reading timestamp -> plotted, ${N} instruments at 10 Hz (${lat.length} redraws, last 1000): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
  await browser.close();
} finally {
  await h.dispose();
}
