/**
 * A broken save is refused as a whole: the running config stays, the error (line and key) goes to
 * a config.reloadFailed event and config.reloadStatus, the file stays byte-for-byte what the person
 * wrote (even when a socket command comes in meanwhile), and fixing the file applies it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { count, hotReloadStatus, nth, readText, saveByRename, saveInPlace, watcherSettled } from './reload-helpers.js';

/** A good config; `extra` goes at the end, `pollA` makes each fix a real change. */
function config(pollA: number, opts: { withB?: boolean; extra?: string; badA?: string } = {}): string {
  const withB = opts.withB ?? true;
  return `[application.dynamic_config]
hot_reload_debounce_ms = 100

[instruments.a]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = ${pollA}

[instruments.a.params]
${opts.badA ?? 'wavelength_nm = 800'}
${
  withB
    ? `
[instruments.b]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100
`
    : ''
}
[modules.watch_b]
type = "monitor"
reading = "power"
high = 1.0

[modules.watch_b.roles]
source = "b"
${opts.extra ?? ''}`;
}

/** 1-based line of the first line containing `marker`. */
function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`marker ${marker} not in text`);
  return i + 1;
}

interface Case {
  name: string;
  text: (poll: number) => string;
  marker: string;
  path: string;
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: 'bad TOML',
    text: (p) => config(p, { badA: 'wavelength_nm = = 800 # BAD' }),
    marker: '# BAD',
    path: '',
    message: /TOML syntax error/,
  },
  {
    name: 'a value out of range',
    text: (p) => config(p, { badA: 'wavelength_nm = 5000 # BAD' }),
    marker: '# BAD',
    path: 'instruments.a.params.wavelength_nm',
    message: /400 and 1100/,
  },
  {
    name: 'an unknown driver',
    text: (p) => config(p, { extra: '\n[instruments.c]\ndriver = "newport_9999" # BAD\nport = "sim"\n' }),
    marker: '# BAD',
    path: 'instruments.c.driver',
    message: /unknown driver "newport_9999"/,
  },
  {
    name: 'a removed instrument that a staying module still uses',
    text: (p) => config(p, { withB: false }),
    marker: 'source = "b"',
    path: 'modules.watch_b.roles.source',
    message: /instrument "b" does not exist/,
  },
  {
    name: 'a port clash',
    text: (p) =>
      config(p, {
        extra: '\n[instruments.c]\ndriver = "newport_1830c"\nport = "/dev/ttyS_H7_CLASH"\n\n[instruments.d]\ndriver = "newport_1830c"\nport = "/dev/ttyS_H7_CLASH" # BAD\n',
      }),
    marker: '# BAD',
    path: 'instruments.d.port',
    message: /cannot share a port/,
  },
];

describe('hot reload: a broken file keeps the running config', () => {
  let daemon: DaemonHandle;
  let rec: EventRecorder;
  let mark = 0;
  let poll = 100;

  beforeAll(async () => {
    daemon = await startDaemon({ config: config(poll) });
    rec = await EventRecorder.subscribe(daemon, { types: ['config.', 'instrument.', 'module.added', 'module.removed'] });
    await waitUntil(async () => (await daemon.call('instrument.list')).instruments.every((i: { state: string }) => i.state === 'ready'), 10_000, 'a and b ready');
  });
  afterAll(async () => {
    rec?.close();
    await daemon?.dispose();
  });
  beforeEach(async () => {
    await watcherSettled(daemon, (await hotReloadStatus(daemon)).changesSeen);
    mark = rec.events.length;
  });

  it('putting back the text that runs after a broken save clears the failure', async () => {
    const good = readText(daemon.configPath);
    saveByRename(daemon.configPath, config(poll, { badA: 'wavelength_nm = "red" # BAD' }));
    await nth(rec, 'config.reloadFailed', 1, mark);
    expect((await daemon.call('config.reloadStatus')).outcome).toBe('failed');
    const changes = (await hotReloadStatus(daemon)).changesSeen;
    saveByRename(daemon.configPath, good);
    await watcherSettled(daemon, changes + 1);
    expect(await daemon.call('config.reloadStatus')).toMatchObject({ outcome: 'unchanged', source: 'watcher', summary: 'no change' });
    expect(count(rec, 'config.reloaded', mark)).toBe(0);
    expect(count(rec, 'config.reloadFailed', mark)).toBe(1);
    // And the file is writable again: a socket command persists.
    await daemon.call('instrument.set', { id: 'a', params: { wavelength_nm: 810 } });
    expect(readText(daemon.configPath)).toContain('wavelength_nm = 810');
    await watcherSettled(daemon, changes + 2);
    saveInPlace(daemon.configPath, good); // back to 800 for the cases below
    await nth(rec, 'config.reloaded', 1, mark);
  });

  for (const c of CASES) {
    it(`${c.name}: refused with its line and key, file untouched; the fix applies`, async () => {
      const runningBefore = await daemon.call('instrument.list');
      const broken = c.text(poll);
      saveByRename(daemon.configPath, broken);

      const failed = await nth(rec, 'config.reloadFailed', 1, mark);
      expect(failed.params.source).toBe('watcher');
      const issue = failed.params.errors.find((e: { path: string }) => e.path === c.path);
      expect(issue, JSON.stringify(failed.params.errors)).toBeTruthy();
      expect(issue.line).toBe(lineOf(broken, c.marker));
      expect(issue.message).toMatch(c.message);

      const status = await daemon.call('config.reloadStatus');
      expect(status.outcome).toBe('failed');
      expect(status.errors).toEqual(failed.params.errors);
      expect(status.message).toContain(`:${issue.line}`);

      // Nothing applied: same instruments, same module, none stopped or started.
      expect(count(rec, 'config.reloaded', mark)).toBe(0);
      expect(rec.events.slice(mark).filter((e) => /^(instrument\.(added|removed)|module\.(added|removed))$/.test(e.method))).toEqual([]);
      const runningAfter = await daemon.call('instrument.list');
      expect(runningAfter.instruments.map((i: { id: string }) => i.id)).toEqual(runningBefore.instruments.map((i: { id: string }) => i.id));
      expect((await daemon.call('module.list')).modules.map((m: { id: string }) => m.id)).toEqual(['watch_b']);
      expect(readText(daemon.configPath)).toBe(broken);

      // A socket command that would write the file is refused rather than overwrite the person's text.
      const refused = await daemon.call('instrument.set', { id: 'a', params: { wavelength_nm: 850 } }).catch((e) => e);
      expect(refused.kind).toBe('conflict');
      expect(refused.message).toMatch(/fix the file/);
      expect(readText(daemon.configPath)).toBe(broken);

      poll += 10;
      const fixed = config(poll);
      const changes = (await hotReloadStatus(daemon)).changesSeen;
      saveInPlace(daemon.configPath, fixed);
      const ok = await nth(rec, 'config.reloaded', 1, mark);
      expect(ok.params.diff.instruments.changed.a.pollIntervalMs.to).toBe(poll);
      await watcherSettled(daemon, changes + 1);
      expect((await daemon.call('config.reloadStatus')).outcome).toBe('applied');
      expect((await daemon.call('instrument.get', { id: 'a' })).pollIntervalMs).toBe(poll);
      expect(readText(daemon.configPath)).toBe(fixed);
    });
  }
});
