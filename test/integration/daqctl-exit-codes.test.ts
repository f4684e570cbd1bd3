/**
 * daqctl's exit codes against a real daqd (docs/daqctl.md, "Exit codes"): 0 done, 1 daqd refused
 * or the outcome is a failure, 2 every kind of usage error (commander's own included: it exits 1 by
 * itself), 3 no daqd reachable. A usage error prints one message and the command's usage on
 * stderr, nothing on stdout, no stack trace, and changes nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { daqctl, STACK_LINE, type Result } from '../cli/helpers.js';

const CONFIG = `[application.dynamic_config]
enable_persistence = true
enable_hot_reload = false

[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 200
`;

describe('daqctl exit codes', () => {
  let daqd: DaemonHandle;
  let fileBefore: string;
  const ctl = (...args: string[]) => daqctl(['--socket', daqd.socketPath, ...args], { cwd: daqd.dir });

  beforeAll(async () => {
    daqd = await startDaemon({ config: CONFIG });
    await waitUntil(async () => (await daqd.call('instrument.list')).instruments.every((i: any) => i.state === 'ready'), 15_000, 'both instruments ready');
    fileBefore = (await import('node:fs')).readFileSync(daqd.configPath, 'utf8');
  });
  afterAll(async () => {
    await daqd?.dispose();
  });

  function expectUsage(r: Result, message: RegExp | string, usage: string): void {
    expect(r.code, `${r.stderr}`).toBe(2);
    expect(r.stdout).toBe('');
    if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`usage: ${usage}`);
    expect(r.stderr).not.toMatch(STACK_LINE);
  }

  const toml = () => {
    const file = join(daqd.dir, 'pm9.toml');
    writeFileSync(file, '[instruments.pm9]\ndriver = "newport_1830c"\nport = "sim"\n');
    return file;
  };

  // [what, args, message, usage line]
  const cases: [string, () => string[], RegExp | string, string][] = [
    ['an unknown option', () => ['status', '--verbose'], "daqctl: unknown option '--verbose'", 'daqctl status [options]'],
    ['an unknown global option', () => ['--colour', 'status'], "daqctl: unknown option '--colour'", 'daqctl [options] [command]'],
    ['an unknown command', () => ['stauts'], /daqctl: unknown command 'stauts'[\s\S]*status/, 'daqctl [options] [command]'],
    ['a missing argument', () => ['get'], "daqctl: missing required argument 'id'", 'daqctl get [options] <id>'],
    ['a missing argument of a subcommand', () => ['module', 'assign', 'm1'], "daqctl: missing required argument 'role'", 'daqctl module assign [options] <id> <role> <instrument>'],
    ['too many arguments', () => ['status', 'now'], 'too many arguments', 'daqctl status [options]'],
    ['an option without its value', () => ['add', 'pm9', '--driver'], "option '--driver <name>' argument missing", 'daqctl add [options] <id>'],
    ['a malformed word', () => ['set', 'pm1', 'wavelength_nm'], 'expected key=value, got "wavelength_nm"', 'daqctl set [options] <id> <assignments...>'],
    ['a word the parameter type does not fit', () => ['set', 'laser', 'shutter=ajar'], 'laser: shutter is true or false', 'daqctl set'],
    ['add without --driver', () => ['add', 'pm9', '--port', 'sim'], 'add needs --driver and --port', 'daqctl add'],
    ['add --toml with --driver', () => ['add', 'pm9', '--toml', toml(), '--driver', 'scpi'], '--driver cannot be combined with it', 'daqctl add'],
    ['add --toml of a missing file', () => ['add', 'pm9', '--toml', join(daqd.dir, 'nope.toml')], 'cannot read --toml', 'daqctl add'],
    ['a bad --timeout', () => ['enable', 'pm1', '--timeout', 'soon'], '--timeout takes seconds', 'daqctl enable'],
    ['an unknown event type', () => ['watch', '--type', 'readings'], 'no daqd event type starts with "readings"', 'daqctl watch'],
  ];

  for (const [what, args, message, usage] of cases) {
    it.concurrent(`usage error, exit 2: ${what}`, async () => {
      expectUsage(await ctl(...args()), message, usage);
    });
  }

  it('no command: the help on stderr, exit 2; --help and --version: exit 0', async () => {
    const [none, help, subHelp, version] = await Promise.all([ctl(), ctl('--help'), ctl('set', '--help'), ctl('--version')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: daqctl [options] [command]');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: daqctl [options] [command]');
    expect(subHelp.code).toBe(0);
    expect(subHelp.stdout).toContain('Usage: daqctl set [options] <id> <assignments...>');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('usage errors changed nothing', async () => {
    const ids = (await daqd.call('instrument.list')).instruments.map((i: any) => i.id);
    expect(ids).toEqual(['pm1', 'laser']);
    expect((await import('node:fs')).readFileSync(daqd.configPath, 'utf8')).toBe(fileBefore);
  });

  it('refused by daqd: exit 1 with the message and kind; done: exit 0', async () => {
    const [refused, missing, ok] = await Promise.all([ctl('set', 'pm1', 'wavelength_nm=2000'), ctl('get', 'nope'), ctl('get', 'pm1')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[out_of_range]');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^daqctl: .*"nope".* \[not_found\]$/m);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('no daqd: exit 1 (the request failed), naming the socket tried', async () => {
    const r = await daqctl(['--socket', join(daqd.dir, 'gone.sock'), 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot connect to daqd: is daqd running? (no socket at ${join(daqd.dir, 'gone.sock')}, from --socket)`);
  });
});
