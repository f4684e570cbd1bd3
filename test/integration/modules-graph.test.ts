/**
 * The dependency graph through a real daqd: assignments tracked by instrument.dependencies,
 * removal refused / forced / cascaded, assignment checks, and the file after every change
 * (the roles table edited in place, module tables added and removed, everything else untouched).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { LAB_CONFIG, daqctl, depsOf, graphFromFile, graphFromModuleList, graphFromQueries, readText, replaceLine, rpcError, sortedGraph } from './modules-helpers.js';

async function expectGraphsAgree(d: DaemonHandle): Promise<void> {
  const queried = sortedGraph(await graphFromQueries(d));
  expect(sortedGraph(await graphFromModuleList(d))).toEqual(queried);
  expect(sortedGraph(graphFromFile(d.configPath))).toEqual(queried);
}

async function moduleState(d: DaemonHandle, id: string): Promise<{ state: string; reason?: string; roles: Record<string, string> }> {
  return d.call('module.get', { id });
}

describe('assignments through the socket', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: LAB_CONFIG });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('reports every module and role that uses an instrument', async () => {
    expect(await depsOf(d, 'pm1')).toEqual(['guard/sensor', 'ratio/a', 'watch/source']);
    expect(await depsOf(d, 'pm2')).toEqual(['ratio/b']);
    expect(await depsOf(d, 'laser')).toEqual(['guard/actuator']);
    const r = await d.call('instrument.dependencies', { id: 'pm2' });
    expect(r.usedBy).toEqual([{ module: 'ratio', role: 'b', moduleType: 'derived' }]);
    const missing = await rpcError(d.call('instrument.dependencies', { id: 'nope' }));
    expect(missing.kind).toBe('not_found');
    await expectGraphsAgree(d);
  });

  it('unassign and assign move the dependency and edit only the role line in the file', async () => {
    const before = readText(d.configPath);

    const un = await d.call('module.unassign', { id: 'watch', role: 'source' });
    expect(un).toMatchObject({ module: 'watch', role: 'source', unassigned: 'pm1', state: 'degraded' });
    expect(await depsOf(d, 'pm1')).toEqual(['guard/sensor', 'ratio/a']);
    const watch = await moduleState(d, 'watch');
    expect(watch.state).toBe('degraded');
    expect(watch.reason).toContain('source');
    // The key and its comment go; nothing else in the file moves.
    const afterUnassign = replaceLine(before, 'source = "pm1" # sample meter', null);
    expect(readText(d.configPath)).toBe(afterUnassign);

    const as = await d.call('module.assign', { id: 'watch', role: 'source', instrument: 'pm2' });
    expect(as).toMatchObject({ module: 'watch', role: 'source', instrument: 'pm2' });
    expect(['idle', 'running']).toContain(as.state);
    expect(await depsOf(d, 'pm2')).toEqual(['ratio/b', 'watch/source']);
    expect(await depsOf(d, 'pm1')).toEqual(['guard/sensor', 'ratio/a']);
    const text = readText(d.configPath);
    expect(text).toBe(afterUnassign.replace('[modules.watch.roles]\n', '[modules.watch.roles]\nsource = "pm2"\n'));

    // Reassigning an assigned role replaces the value in place and says what it replaced.
    const re = await d.call('module.assign', { id: 'guard', role: 'sensor', instrument: 'pm2' });
    expect(re.replaced).toBe('pm1');
    // daqd notes the change it made above the line (when, and the old value).
    const noted = readText(d.configPath);
    expect(noted).toMatch(/\n# daqd: set \S+ \(was "pm1"\)\nsensor = "pm2"\n/);
    expect(noted.replace(/# daqd: set \S+ \(was "pm1"\)\n/, '')).toBe(replaceLine(text, 'sensor = "pm1"', 'sensor = "pm2"'));
    expect(await depsOf(d, 'pm2')).toEqual(['guard/sensor', 'ratio/b', 'watch/source']);
    expect(await depsOf(d, 'pm1')).toEqual(['ratio/a']);
    await expectGraphsAgree(d);
  });

  it('module.add and module.remove add and drop the module table and its dependencies', async () => {
    const before = readText(d.configPath);
    const added = await d.call('module.add', {
      id: 'ref_watch',
      config: { type: 'monitor', reading: 'power', low: 1e-6, roles: { source: 'pm2' } },
    });
    expect(added.module.state).toMatch(/idle|running/);
    expect(await depsOf(d, 'pm2')).toContain('ref_watch/source');
    const text = readText(d.configPath);
    expect(text.startsWith(before)).toBe(true);
    expect(text.slice(before.length)).toMatch(
      /^\n# Added dynamically: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\[modules\.ref_watch\]\ntype = "monitor"\nreading = "power"\nlow = (1e-6|0\.000001)\n\n\[modules\.ref_watch\.roles\]\nsource = "pm2"\n$/,
    );
    await expectGraphsAgree(d);

    await d.call('module.remove', { id: 'ref_watch' });
    expect(await depsOf(d, 'pm2')).not.toContain('ref_watch/source');
    const { modules } = await d.call('module.list');
    expect(modules.map((m: { id: string }) => m.id).sort()).toEqual(['guard', 'ratio', 'watch']);
    const after = readText(d.configPath);
    expect(after).not.toContain('ref_watch]');
    // What was there before the add is still there, byte for byte (a removal note may follow).
    expect(after.startsWith(before)).toBe(true);
    expect(after.slice(before.length)).toMatch(/^(\n# Removed: module ref_watch at \S+\n)?$/);
    await expectGraphsAgree(d);
  });

  it('refuses to remove an instrument in use, naming every module and role', async () => {
    const before = readText(d.configPath);
    const err = await rpcError(d.call('instrument.remove', { id: 'pm2' }));
    expect(err.kind).toBe('in_use');
    for (const use of ['guard (role sensor)', 'ratio (role b)', 'watch (role source)']) expect(err.message).toContain(use);
    const usedBy = (err.data.usedBy as { module: string; role: string }[]).map((u) => `${u.module}/${u.role}`).sort();
    expect(usedBy).toEqual(['guard/sensor', 'ratio/b', 'watch/source']);
    // Nothing changed: still there, still used, file untouched.
    expect((await d.call('instrument.get', { id: 'pm2' })).id).toBe('pm2');
    expect(await depsOf(d, 'pm2')).toEqual(['guard/sensor', 'ratio/b', 'watch/source']);
    expect(readText(d.configPath)).toBe(before);
  });

  it('refuses assignments that cannot work, saying why, and changes nothing', async () => {
    const before = readText(d.configPath);
    const caps = await rpcError(d.call('module.assign', { id: 'watch', role: 'source', instrument: 'laser' }));
    expect(caps.kind).toBe('invalid_params');
    expect(caps.message).toContain('laser');
    expect(caps.message).toContain('"power"');
    expect(caps.data.missing).toEqual([{ kind: 'reading', name: 'power' }]);

    const actuator = await rpcError(d.call('module.assign', { id: 'guard', role: 'actuator', instrument: 'pm1' }));
    expect(actuator.kind).toBe('invalid_params');
    expect(actuator.message).toContain('"shutter"');

    const role = await rpcError(d.call('module.assign', { id: 'watch', role: 'sink', instrument: 'pm1' }));
    expect(role.kind).toBe('invalid_params');
    expect(role.message).toContain('"sink"');
    expect(role.message).toContain('source');

    const inst = await rpcError(d.call('module.assign', { id: 'watch', role: 'source', instrument: 'pm9' }));
    expect(inst.kind).toBe('not_found');
    expect(inst.message).toContain('pm9');

    const mod = await rpcError(d.call('module.assign', { id: 'nobody', role: 'source', instrument: 'pm1' }));
    expect(mod.kind).toBe('not_found');
    expect(mod.message).toContain('nobody');

    // The same checks hold for roles given with module.add.
    const addCaps = await rpcError(d.call('module.add', { id: 'w2', config: { type: 'monitor', reading: 'power', high: 1, roles: { source: 'laser' } } }));
    expect(addCaps.kind).toBe('validation_failed');
    expect(addCaps.message).toContain('laser');
    expect(addCaps.message).toContain('"power"');
    const addMissing = await rpcError(d.call('module.add', { id: 'w2', config: { type: 'monitor', reading: 'power', high: 1, roles: { source: 'pm9' } } }));
    expect(addMissing.message).toContain('pm9');
    expect((await d.call('module.list')).modules.map((m: { id: string }) => m.id)).not.toContain('w2');

    expect(readText(d.configPath)).toBe(before);
    expect((await moduleState(d, 'watch')).roles).toEqual({ source: 'pm2' });
    await expectGraphsAgree(d);
  });

  it('daqctl deps and module verbs', async () => {
    // Each daqctl is a fresh node process (~1 s): run the ones that do not change anything together.
    const [deps, deps1, bad, rm] = await Promise.all([
      daqctl(d, 'deps', 'pm2'),
      daqctl(d, 'deps', 'pm1'),
      daqctl(d, 'module', 'assign', 'watch', 'source', 'laser'),
      daqctl(d, 'rm', 'pm1'),
    ]);
    expect(deps.code).toBe(0);
    expect(deps.stdout).toMatch(/watch\s+monitor\s+source/);
    expect(deps.stdout).toMatch(/guard\s+interlock\s+sensor/);
    expect(deps1.stdout).toMatch(/ratio\s+derived\s+a/);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('"power"');
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain('in_use');

    const un = await daqctl(d, 'module', 'unassign', 'guard', 'sensor');
    expect(un.code).toBe(0);
    expect(un.stdout).toContain('degraded');
    expect(await depsOf(d, 'pm2')).toEqual(['ratio/b', 'watch/source']);
    const [ls, as] = await Promise.all([daqctl(d, 'module', 'ls'), daqctl(d, 'module', 'assign', 'guard', 'sensor', 'pm1')]);
    // ls ran before or after the assign: either way guard is listed with its state.
    expect(ls.stdout).toMatch(/guard\s+interlock\s+(degraded|idle|running)/);
    expect(as.code).toBe(0);
    expect(await depsOf(d, 'pm1')).toEqual(['guard/sensor', 'ratio/a']);
    await expectGraphsAgree(d);
  });
  it('module states: idle while an instrument is not ready, stopped when disabled, running once all is there', async () => {
    await d.call('instrument.add', { id: 'pm_off', config: { driver: 'newport_1830c', port: 'sim', enabled: false } });
    const added = await d.call('module.add', { id: 'off_watch', config: { type: 'monitor', reading: 'power', high: 1, roles: { source: 'pm_off' } } });
    expect(added.module.state).toBe('idle');
    expect(added.module.reason).toContain('pm_off');
    expect(await depsOf(d, 'pm_off')).toEqual(['off_watch/source']);

    const stopped = await d.call('module.add', { id: 'parked', config: { type: 'monitor', reading: 'power', high: 1, enabled: false, roles: { source: 'pm1' } } });
    expect(stopped.module.state).toBe('stopped');
    // A stopped module still holds its instrument: removing it is refused all the same.
    expect(await depsOf(d, 'pm1')).toContain('parked/source');

    await d.call('module.assign', { id: 'off_watch', role: 'source', instrument: 'pm1' });
    await waitUntil(async () => (await d.call('module.get', { id: 'off_watch' })).state === 'running', 5000, 'off_watch to run on pm1');
    expect(await depsOf(d, 'pm_off')).toEqual([]);
    await d.call('instrument.remove', { id: 'pm_off' });
    await d.call('module.remove', { id: 'off_watch' });
    await d.call('module.remove', { id: 'parked' });
    await expectGraphsAgree(d);
  });
});

describe('forced and cascading removal', () => {
  let d: DaemonHandle;
  beforeAll(async () => {
    d = await startDaemon({ config: LAB_CONFIG });
  });
  afterAll(async () => {
    await d?.dispose();
  });

  it('force removes the instrument, unassigns its roles, leaves the modules degraded and says so', async () => {
    const before = readText(d.configPath);
    const r = await d.call('instrument.remove', { id: 'pm1', force: true });
    expect(r.removed).toBe('pm1');
    expect(r.unassigned.map((u: { module: string; role: string }) => `${u.module}/${u.role}`).sort()).toEqual(['guard/sensor', 'ratio/a', 'watch/source']);
    for (const m of ['guard', 'ratio', 'watch']) expect(r.note).toContain(m);
    expect(r.note).toContain('degraded');

    const { modules } = await d.call('module.list');
    const byId = Object.fromEntries(modules.map((m: { id: string }) => [m.id, m]));
    expect(byId.watch).toMatchObject({ state: 'degraded', roles: {} });
    expect(byId.watch.reason).toContain('source');
    expect(byId.guard).toMatchObject({ state: 'degraded', roles: { actuator: 'laser' } });
    expect(byId.guard.reason).toContain('sensor');
    expect(byId.ratio).toMatchObject({ state: 'degraded', roles: { b: 'pm2' } });
    expect(byId.ratio.reason).toContain('a');

    const text = readText(d.configPath);
    expect(text).not.toContain('"pm1"');
    expect(text).not.toContain('[instruments.pm1]');
    // The role lines went; the laser's and the modules' settings are untouched.
    for (const kept of ['[instruments.laser.params]\nshutter = true # open\n', 'actuator = "laser"\n', 'b = "pm2"\n', '[modules.watch]\ntype = "monitor"\nreading = "power"\nhigh = 1e-3\n']) {
      expect(text).toContain(kept);
    }
    const untouchedHead = before.slice(0, before.indexOf('# Sample meter.'));
    expect(text.startsWith(untouchedHead)).toBe(true);

    expect((await rpcError(d.call('instrument.dependencies', { id: 'pm1' }))).kind).toBe('not_found');
    expect(await depsOf(d, 'pm2')).toEqual(['ratio/b']);
    await expectGraphsAgree(d);
  });

  it('the graph follows when the instrument comes back and is reassigned', async () => {
    await d.call('instrument.add', { id: 'pm1', config: { driver: 'newport_1830c', port: 'sim', poll_interval_ms: 100 } });
    expect(await depsOf(d, 'pm1')).toEqual([]);
    await d.call('module.assign', { id: 'watch', role: 'source', instrument: 'pm1' });
    await d.call('module.assign', { id: 'guard', role: 'sensor', instrument: 'pm1' });
    expect(await depsOf(d, 'pm1')).toEqual(['guard/sensor', 'watch/source']);
    expect((await moduleState(d, 'watch')).state).not.toBe('degraded');
    expect((await moduleState(d, 'ratio')).state).toBe('degraded');
    await expectGraphsAgree(d);
  });

  it('cascade removes the instrument and every module that uses it, from the list and the file', async () => {
    const r = await d.call('instrument.remove', { id: 'pm2', cascade: true });
    expect(r.removedModules).toEqual(['ratio']);
    const { modules } = await d.call('module.list');
    expect(modules.map((m: { id: string }) => m.id).sort()).toEqual(['guard', 'watch']);
    const text = readText(d.configPath);
    expect(text).not.toContain('[modules.ratio');
    expect(text).not.toContain('[instruments.pm2]');
    expect(text).toContain('[modules.watch]');
    expect(await depsOf(d, 'pm1')).toEqual(['guard/sensor', 'watch/source']);

    // Cascade through two modules at once.
    const r2 = await d.call('instrument.remove', { id: 'pm1', cascade: true });
    expect(r2.removedModules.sort()).toEqual(['guard', 'watch']);
    expect((await d.call('module.list')).modules).toEqual([]);
    expect(await depsOf(d, 'laser')).toEqual([]);
    // No module table left, and no bare [modules] header nobody wrote; daqd notes what it removed.
    const text2 = readText(d.configPath);
    expect(text2).not.toContain('[modules.');
    expect(text2).not.toMatch(/^\[modules\]/m);
    for (const m of ['ratio', 'guard', 'watch']) expect(text2).toMatch(new RegExp(`# Removed: module ${m} at \\S+\\n`));
    expect(text2).toContain('[instruments.laser.params]\nshutter = true # open\n');
    await expectGraphsAgree(d);
  });
});
