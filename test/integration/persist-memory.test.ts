/**
 * Changes kept in memory only: `application.dynamic_config.enable_persistence = false` for the
 * whole daemon, or `persist: false` on one command. The file stays byte-identical, status says the
 * file is out of date (changes in memory only), no config.persisted event is sent, and
 * `config.sync` writes the running config when asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { EventRecorder, startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { expectFileText, readText, replaceOnce, waitAllReady, waitInstrumentReady } from './persist-helpers.js';

const config = (persistence: boolean) => `# Memory-only bench.
[application]
name = "persist-memory"

[application.dynamic_config]
enable_persistence = ${persistence} # the switch under test
enable_hot_reload = true
hot_reload_debounce_ms = 50

# Sample meter.
[instruments.pm1]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100

[instruments.pm1.params]
wavelength_nm = 800   # keep in step with the laser

# Reference meter, removed in memory by the test.
[instruments.pm_ref]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 100
`;

const note = (was: string) => `# daqd: set <TS> (was ${was})`;

/** The file after config.sync writes set pm1=1064, add pm2, remove pm_ref into `text`. */
function synced(text: string): string {
  const setDone = replaceOnce(text, 'wavelength_nm = 800   #', `${note('800')}\nwavelength_nm = 1064   #`);
  const refStart = setDone.indexOf('# Reference meter');
  return (
    setDone.slice(0, refStart) +
    '# Removed: pm_ref at <TS>\n\n# Added dynamically: <TS>\n[instruments.pm2]\ndriver = "newport_1830c"\nport = "sim"\npoll_interval_ms = 100\n'
  );
}

for (const [name, persistence, persistParam, reason] of [
  ['enable_persistence = false', false, undefined, /enable_persistence = false/],
  ['persist: false on each command', true, false, /persist: false/],
] as const) {
  describe(`in memory only: ${name}`, () => {
    let d: DaemonHandle;
    let events: EventRecorder;
    const since = new Date();
    const original = config(persistence);
    const persist = persistParam === undefined ? {} : { persist: persistParam };

    beforeAll(async () => {
      d = await startDaemon({ config: original });
      await waitAllReady(d);
      events = await EventRecorder.subscribe(d, { types: ['config.'] });
    });
    afterAll(async () => {
      events?.close();
      await d?.dispose();
    });

    it('set, add and remove change the running instruments, the file stays byte-identical', async () => {
      const set = await d.call('instrument.set', { id: 'pm1', params: { wavelength_nm: 1064 }, ...persist });
      expect(set.persisted.written).toBe(false);
      expect(set.persisted.reason).toMatch(reason);
      const add = await d.call('instrument.add', { id: 'pm2', config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 100 }, ...persist });
      expect(add.persisted.written).toBe(false);
      const rm = await d.call('instrument.remove', { id: 'pm_ref', ...persist });
      expect(rm.persisted.written).toBe(false);

      await waitInstrumentReady(d, 'pm2');
      expect((await d.call('instrument.get', { id: 'pm1' })).params.wavelength_nm).toBe(1064);
      const ids = (await d.call('instrument.list')).instruments.map((i: { id: string }) => i.id).sort();
      expect(ids).toEqual(['pm1', 'pm2']);

      expect(readText(d.configPath)).toBe(original);
      expect(events.events.filter((e) => e.method === 'config.persisted' || e.method === 'config.persistFailed')).toEqual([]);
    });

    it('status says the file is out of date, changes in memory only, and why', async () => {
      const { persistence: p } = await d.call('daemon.status');
      expect(p).toMatchObject({ enabled: persistence, upToDate: false });
      expect(p.reason).toMatch(/^changes kept in memory only: /);
      expect(p.reason).toMatch(reason);
      expect(p.lastError).toBeUndefined();
    });

    it('config.sync writes the running config into the file, comments kept', async () => {
      const r = await d.call('config.sync');
      expect(r).toMatchObject({ file: d.configPath, written: true });
      expectFileText(readText(d.configPath), synced(original), since);
      expect(Object.keys((parse(readText(d.configPath)) as any).instruments).sort()).toEqual(['pm1', 'pm2']);
      expect((await d.call('daemon.status')).persistence).toMatchObject({ enabled: persistence, upToDate: true });
      await events.waitFor((e) => e.method === 'config.persisted', 5000, 'config.persisted after the sync');
    });
  });
}
