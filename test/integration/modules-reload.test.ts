/**
 * The dependency graph follows changes a person makes by editing the config file while daqd runs
 * (hot reload), and stays consistent when socket changes and file edits alternate.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { LAB_CONFIG, depsOf, graphFromFile, graphFromModuleList, graphFromQueries, readText, replaceLine, rpcError, sortedGraph } from './modules-helpers.js';

async function expectGraphsAgree(d: DaemonHandle): Promise<void> {
  const queried = sortedGraph(await graphFromQueries(d));
  expect(sortedGraph(await graphFromModuleList(d))).toEqual(queried);
  expect(sortedGraph(graphFromFile(d.configPath))).toEqual(queried);
}

describe('the graph after hot reloads', () => {
  let d: DaemonHandle;
  let rec: EventRecorder;
  beforeAll(async () => {
    d = await startDaemon({ config: LAB_CONFIG });
    rec = await EventRecorder.subscribe(d, { types: ['config.'] });
  });
  afterAll(async () => {
    rec?.close();
    await d?.dispose();
  });

  /**
   * Save the file the way editors do (write aside, rename over) and wait until daqd has reloaded
   * it: the reload status gets a new time (an edit back to the running config is "unchanged" and
   * has no event of its own, so the status is what to wait on).
   */
  async function saveAndWait(text: string, outcome: 'applied' | 'unchanged' | 'failed' = 'applied') {
    const before = (await d.call('config.reloadStatus')).at;
    const seen = rec.events.length;
    const tmp = `${d.configPath}.tmp-edit`;
    writeFileSync(tmp, text);
    renameSync(tmp, d.configPath);
    const status = await waitUntil(
      async () => {
        const s = await d.call('config.reloadStatus');
        return s.at !== before && s.source === 'watcher' ? s : undefined;
      },
      10_000,
      'daqd to reload the edited file',
    );
    expect(status.outcome).toBe(outcome);
    // Applied and failed reloads are also announced to subscribers.
    const event = { applied: 'config.reloaded', failed: 'config.reloadFailed', unchanged: undefined }[outcome];
    if (event) await rec.waitFor((e) => rec.events.indexOf(e) >= seen && e.method === event, 5000, event);
    return status;
  }

  it('reassigning a role in the file moves the dependency', async () => {
    const text = replaceLine(readText(d.configPath), 'sensor = "pm1"', 'sensor = "pm2"');
    await saveAndWait(text);
    expect(await depsOf(d, 'pm1')).toEqual(['ratio/a', 'watch/source']);
    expect(await depsOf(d, 'pm2')).toEqual(['guard/sensor', 'ratio/b']);
    expect((await d.call('module.get', { id: 'guard' })).roles).toEqual({ sensor: 'pm2', actuator: 'laser' });
    // A reload never writes the file back: it is exactly what the person saved.
    expect(readText(d.configPath)).toBe(text);
    await expectGraphsAgree(d);
  });

  it('deleting a role line leaves the module degraded; deleting a module table drops its uses', async () => {
    let text = replaceLine(readText(d.configPath), 'source = "pm1" # sample meter', null);
    await saveAndWait(text);
    const watch = await d.call('module.get', { id: 'watch' });
    expect(watch.state).toBe('degraded');
    expect(await depsOf(d, 'pm1')).toEqual(['ratio/a']);

    const start = text.indexOf('# Sample over reference.');
    text = text.slice(0, start).trimEnd() + '\n';
    await saveAndWait(text);
    const { modules } = await d.call('module.list');
    expect(modules.map((m: { id: string }) => m.id).sort()).toEqual(['guard', 'watch']);
    expect(await depsOf(d, 'pm1')).toEqual([]);
    expect(await depsOf(d, 'pm2')).toEqual(['guard/sensor']);
    // Nothing uses pm1 now, so it can go without force.
    await expectGraphsAgree(d);
  });

  it('a module added in the file is tracked, and an edit naming a missing instrument is refused whole', async () => {
    const base = readText(d.configPath);
    const withModule = `${base}\n[modules.ref_watch]\ntype = "monitor"\nreading = "power"\nlow = 1e-7\n\n[modules.ref_watch.roles]\nsource = "pm1"\n`;
    await saveAndWait(withModule);
    expect(await depsOf(d, 'pm1')).toEqual(['ref_watch/source']);

    const broken = replaceLine(withModule, 'source = "pm1"', 'source = "pm7"');
    const failed = await saveAndWait(broken, 'failed');
    expect(JSON.stringify(failed.errors)).toContain('pm7');
    // The running graph is the last good one.
    expect(await depsOf(d, 'pm1')).toEqual(['ref_watch/source']);
    expect((await d.call('module.get', { id: 'ref_watch' })).roles).toEqual({ source: 'pm1' });

    // Fix the file (a real edit, so the reload is observable) before the socket changes it again.
    await saveAndWait(replaceLine(withModule, 'low = 1e-7', 'low = 1e-8'));
    expect(await depsOf(d, 'pm1')).toEqual(['ref_watch/source']);
  });

  it('socket changes and file edits interleave without the graph drifting', async () => {
    // A forced removal through the socket, then a file edit on top of the file daqd wrote.
    const r = await d.call('instrument.remove', { id: 'pm1', force: true });
    expect(r.unassigned).toEqual([{ module: 'ref_watch', role: 'source' }]);
    expect((await d.call('module.get', { id: 'ref_watch' })).state).toBe('degraded');
    await expectGraphsAgree(d);

    const afterForce = readText(d.configPath);
    expect(afterForce).not.toContain('"pm1"');
    const edited = afterForce.replace('[modules.ref_watch.roles]\n', '[modules.ref_watch.roles]\nsource = "pm2"\n');
    expect(edited).not.toBe(afterForce);
    await saveAndWait(edited);
    expect(await depsOf(d, 'pm2')).toEqual(['guard/sensor', 'ref_watch/source']);
    expect((await d.call('module.get', { id: 'ref_watch' })).state).not.toBe('degraded');

    const refused = await rpcError(d.call('instrument.remove', { id: 'pm2' }));
    expect(refused.kind).toBe('in_use');
    expect((refused.data.usedBy as unknown[]).length).toBe(2);
    await expectGraphsAgree(d);
  });
});
