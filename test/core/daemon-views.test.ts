/**
 * The module list is read while commands apply: the module supervisor can be a step ahead of the
 * running config (a module removed or being replaced, still in the config until the command
 * ends). The list then leaves that module out for the moment instead of failing, and with it
 * daemon.status and the systemd status line (a throw there once ended daqd).
 */
import { describe, expect, it } from 'vitest';
import { DaemonViews, type ViewParts } from '../../src/core/daemon-views.js';
import { EventBus } from '../../src/core/events.js';

function views(held: string[]): DaemonViews {
  const config = { modules: { guard: { type: 'interlock' }, off_watch: { type: 'limit_alarm' }, ratio: { type: 'ratio' } } };
  const modules = {
    view: (id: string) => (held.includes(id) ? { id, type: config.modules[id as keyof typeof config.modules].type, state: 'running', roles: {}, declaredRoles: [], status: {} } : undefined),
  };
  const parts = {
    events: new EventBus(),
    instruments: {},
    modules,
    revisions: { item: () => 3 },
    config: () => config,
    overrides: () => [],
  } as unknown as ViewParts;
  return new DaemonViews(parts);
}

describe('DaemonViews.listModules', () => {
  it('lists the modules the supervisor holds, in config order, with their revision', () => {
    expect(views(['ratio', 'guard', 'off_watch']).listModules().map((m) => [m.id, (m as { revision?: number }).revision])).toEqual([
      ['guard', 3],
      ['off_watch', 3],
      ['ratio', 3],
    ]);
  });

  it('leaves out a module the supervisor does not hold at this moment, rather than failing the list', () => {
    expect(views(['guard', 'ratio']).listModules().map((m) => m.id)).toEqual(['guard', 'ratio']);
  });

  it('module.get of that module is still not_found (one module asked for by name)', () => {
    expect(() => views(['guard']).getModule('off_watch')).toThrow(/no module "off_watch"/);
  });
});
