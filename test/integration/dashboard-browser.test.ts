/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core (nothing downloads a
 * browser; scripts/ensure-test-deps.mjs installs chromium). The page loads from a real daqd, live
 * points are plotted, a set from the page reaches the device, an out-of-range value is refused where
 * it was typed and sends nothing, an action confirmed after the interlock tripped shows the refusal
 * with its reason, and the page reconnects after a daemon restart. Screenshots are kept in
 * .vitest-tmp/dashboard/ (test artefacts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { driver as newportDriver } from '../../src/drivers/newport_1830c/index.js';
import { Newport1830cSimulator } from '../../src/drivers/newport_1830c/simulator.js';
import { serveOnPty, type ServedDevice } from './device-truth-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTEFACTS = resolve(import.meta.dirname, '../../.vitest-tmp/dashboard');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`dashboard test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const config = (port: number) => `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[application.storage]
enabled = false

[application.http]
port = ${port}

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 50

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 200

[instruments.laser.params]
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

describe.skipIf(!haveChromium)('dashboard in chromium', () => {
  let h: DaemonHandle;
  let url: string;
  let port: number;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTEFACTS, { recursive: true });
    port = await freePort();
    h = await startDaemon({ config: config(port) });
    url = await waitUntil(async () => (await h.call('daemon.status')).http?.url as string | undefined, 10_000, 'the HTTP url');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.dispose();
  });

  it('loads and plots live points', async () => {
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForSelector('.conn.up', { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-series="pm/power"]')?.getAttribute('data-points') ?? 0) >= 5, null, { timeout: 10_000 });
    console.log(`page load to 5 plotted points: ${Date.now() - t0} ms`);
    expect(await page.textContent('[data-instrument="pm"] .reading[data-reading="power"]')).toMatch(/W/);
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
  });

  it('a set from the page reaches the device; an out-of-range value is refused inline and sends nothing', async () => {
    const row = page.locator('[data-instrument="pm"] tr[data-param="wavelength_nm"]');
    await row.locator('input').fill('820');
    await row.locator('button[type=submit]').click();
    await waitUntil(async () => (await h.call('instrument.get', { id: 'pm' })).device.wavelength_nm === 820, 5000, 'the device at 820');
    await row.locator('.okmsg').waitFor({ timeout: 5000 });
    await expect.poll(() => row.locator('td').nth(1).textContent(), { timeout: 5000 }).toMatch(/^820/);

    const before = (await h.call('daemon.status')).http.requests;
    await row.locator('input').fill('99999');
    await row.locator('button[type=submit]').click();
    await expect.poll(() => row.locator('.err[role=alert]').textContent()).toMatch(/range/);
    expect(await row.locator('input').getAttribute('aria-invalid')).toBe('true');
    expect((await h.call('instrument.get', { id: 'pm' })).device.wavelength_nm).toBe(820);
    // No instrument.set went out: only the page's periodic reads (3 per refresh) can have come in.
    const after = (await h.call('daemon.status')).http.requests;
    expect(after - before).toBeLessThan(12);
  });

  it('an action confirmed after the interlock tripped is refused, with the reason where it was asked', async () => {
    const row = page.locator('[data-instrument="laser"] tr[data-param="shutter"]');
    await row.locator('select').selectOption('true');
    await row.locator('button[type=submit]').click();
    await row.locator('.confirm').waitFor();
    // The interlock trips while the person is reading the confirmation.
    await h.call('instrument.set', { id: 'pm', params: { units: 'dBm' }, persist: false });
    await waitUntil(async () => (await h.call('daemon.status')).trouble.interlocks.length > 0, 10_000, 'the trip');
    await row.locator('.confirm button.danger').click();
    await expect.poll(() => row.locator('.err[role=alert]').textContent(), { timeout: 5000 }).toMatch(/unsafe: .*held at false by interlock guard/);
    expect((await h.call('instrument.get', { id: 'laser' })).device.shutter).toBe(false);
    // Then the page learns of the hold and disables the action, saying why.
    await row.locator('button[type=submit][disabled]').waitFor({ timeout: 10_000 });
    await page.locator('[data-module="guard"] .state.tripped').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTEFACTS, 'dashboard-tripped.png'), fullPage: false });
  });

  it('plans a config fragment (tx.plan, the dry run of daqctl apply) without touching anything', async () => {
    await page.fill('#plan-toml', '[instruments.pm3]\ndriver = "newport_1830c"\nport = "sim"\n');
    await page.click('#plan-go');
    const out = page.locator('section:has(#plan-toml) pre');
    await expect.poll(() => out.textContent(), { timeout: 5000 }).toMatch(/pm3/);
    expect((await h.call('instrument.list')).instruments.map((i: any) => i.id)).not.toContain('pm3');
  });

  it('reconnects after a daemon restart', async () => {
    await h.stop();
    await page.waitForSelector('.conn.down', { timeout: 10_000 });
    h = await startDaemon({ config: config(port), dir: h.dir });
    await page.waitForSelector('.conn.up', { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector('[data-instrument="pm"] .state')?.textContent === 'ready', null, { timeout: 10_000 });
    expect(await page.locator('#app .loading').count()).toBe(0);
    await page.screenshot({ path: join(ARTEFACTS, 'dashboard.png'), fullPage: true });
    // Readable on a phone: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTEFACTS, 'dashboard-phone.png') });
  });
});

/** The set from the page on the wire itself: the meter is a simulator on a pty, every line it received is logged. */
describe.skipIf(!haveChromium)('dashboard set reaches the device wire (pty)', () => {
  let h: DaemonHandle;
  let meter: ServedDevice<Newport1830cSimulator>;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;

  beforeAll(async () => {
    const port = await freePort();
    meter = await serveOnPty(newportDriver, new Newport1830cSimulator({ noise: 0 }));
    h = await startDaemon({
      config: `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[application.storage]
enabled = false

[application.http]
port = ${port}

[instruments.meter]
driver = "newport_1830c"
port = "${meter.pty.a}"
poll_interval_ms = 100
`,
    });
    await waitUntil(async () => (await h.call('instrument.get', { id: 'meter' })).state === 'ready', 15_000, 'the meter ready');
    const url = await waitUntil(async () => (await h.call('daemon.status')).http?.url as string | undefined, 10_000, 'the HTTP url');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.waitForSelector('.conn.up', { timeout: 10_000 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.dispose();
    await meter?.close();
  });

  it('setting wavelength_nm from the page puts W0<nnn> on the wire', async () => {
    const mark = meter.wire.length;
    const row = page.locator('[data-instrument="meter"] tr[data-param="wavelength_nm"]');
    await row.locator('input').fill('835');
    await row.locator('button[type=submit]').click();
    await waitUntil(() => meter.since(mark, /^W0835$/).length > 0 || undefined, 5000, 'W0835 on the wire');
    await row.locator('.okmsg').waitFor({ timeout: 5000 });
    expect(meter.sim.state.wavelengthNm).toBe(835);
    expect(meter.since(mark, /^W\d{4}$/).map((w) => w.line)).toEqual(['W0835']);
  });
});
