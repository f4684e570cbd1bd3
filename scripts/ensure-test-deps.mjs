#!/usr/bin/env node
// The test suite drives real serial ports (socat pseudo-terminal pairs) and an independent Modbus
// device (Debian's python3-pymodbus); the service tests verify the systemd unit offline
// (systemd-analyze, and systemd-notify, from Debian's systemd); the network tests serve a pty as raw TCP
// through Debian's ser2net (an independent serial device server); the MQTT tests start Debian's
// mosquitto broker; daqctl watch runs under tmux; the Python client runs under Debian's pytest and the
// dashboard in Debian's chromium. Install them when missing and
// allowed (root on Debian);
// otherwise stop with the exact command to run.
import { spawnSync } from 'node:child_process';

const APT_PACKAGES = ['socat', 'python3-pymodbus', 'systemd', 'ser2net', 'mosquitto', 'mosquitto-clients', 'tmux', 'python3-pytest', 'chromium'];

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function missing() {
  const out = [];
  if (!has('socat', ['-V'])) out.push('socat');
  if (!has('/usr/bin/python3', ['-c', 'import pymodbus'])) out.push('python3-pymodbus');
  if (!has('systemd-analyze', ['--version']) || !has('/usr/bin/systemd-notify', ['--version'])) out.push('systemd');
  if (!has('ser2net', ['-v'])) out.push('ser2net');
  // daqctl watch is tested on a real terminal (tmux: Ctrl-C, scrollback, 80 columns).
  if (!has('tmux', ['-V'])) out.push('tmux');
  // The MQTT tests start a real broker (MQTT 5); mosquitto has no exit-0 version flag: look for it.
  if (!has('sh', ['-c', 'test -x /usr/sbin/mosquitto'])) out.push('mosquitto');
  if (!has('sh', ['-c', 'command -v mosquitto_sub'])) out.push('mosquitto-clients');
  // The Python client is tested with Debian's python3 and pytest; the dashboard in Debian's chromium
  // driven by playwright-core (nothing downloads a browser).
  if (!has('/usr/bin/python3', ['-c', 'import pytest'])) out.push('python3-pytest');
  if (!has('sh', ['-c', 'test -x /usr/bin/chromium'])) out.push('chromium');
  return out;
}

let need = missing();
if (need.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y ${APT_PACKAGES.filter((p) => need.includes(p)).join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && has('apt-get', ['--version'])) {
  console.error(`test setup: installing ${need.join(', ')} (${command})`);
  const r = spawnSync('sh', ['-c', `${command.replace('apt-get install', 'DEBIAN_FRONTEND=noninteractive apt-get install')}`], { stdio: 'inherit' });
  need = missing();
  if (r.status === 0 && need.length === 0) process.exit(0);
}
console.error(`The tests need ${need.join(' and ')}. Install with:\n\n  sudo ${command}\n`);
process.exit(1);
