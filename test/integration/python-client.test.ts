/**
 * clients/python/daqd_client.py against a real daqd, run by Debian's /usr/bin/python3 -m pytest
 * (python3-pytest; scripts/ensure-test-deps.mjs installs it): socket and HTTP.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';

const ROOT = resolve(import.meta.dirname, '../..');
const hasPytest = spawnSync('/usr/bin/python3', ['-c', 'import pytest'], { stdio: 'ignore' }).status === 0;

let h: DaemonHandle;
beforeAll(async () => {
  if (!hasPytest) return;
  h = await startDaemon({
    config: `[application.dynamic_config]
enable_persistence = false
enable_hot_reload = false

[application.http]
port = 0

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 20
`,
  });
});
afterAll(async () => {
  await h?.dispose();
});

it.skipIf(!hasPytest)('the Python client passes its pytest suite against a real daqd (socket and HTTP)', async () => {
  const url = await waitUntil(async () => (await h.call('daemon.status')).http?.url as string | undefined, 10_000, 'the HTTP url');
  const r = spawnSync('/usr/bin/python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', join(ROOT, 'clients/python/tests')], {
    cwd: h.dir,
    env: { ...process.env, DAQD_SOCKET: h.socketPath, DAQD_HTTP_URL: url, PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/\d+ passed/);
});
