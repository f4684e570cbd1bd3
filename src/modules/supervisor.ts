/**
 * Runs the configured modules: creates, recreates and disposes module instances so they match the
 * running config (ModuleRuntime.sync, called from the one apply path), routes daemon events to
 * them, and tracks each one's lifecycle:
 *   idle     - all required roles assigned, but a role's instrument is not ready yet
 *   running  - all required roles assigned and their instruments ready
 *   degraded - a required role is unassigned (the module does not act)
 *   stopped  - enabled = false
 */
import type { Logger } from 'pino';
import { sameValue, type ConfigView } from '../config/model.js';
import type { InstrumentSpec } from '../config/resolve.js';
import { moduleSettingsOf } from '../config/validate.js';
import { DaqError, describeError } from '../errors.js';
import type { ModuleRuntime } from '../core/apply/apply.js';
import type { Command, CommandResult } from '../core/commands.js';
import type { DaemonEvent, EventBus } from '../core/events.js';
import { guardedClock, realClock, type ModuleClock } from './clock.js';
import { moduleTypes } from './registry.js';
import type { InstrumentInfo, ModuleInstance, ModuleTypeDefinition, RoleDecl, SafetyLane } from './types.js';

export type ModuleState = 'idle' | 'running' | 'degraded' | 'stopped';

interface Running {
  id: string;
  table: unknown;
  type: ModuleTypeDefinition;
  roles: Record<string, string>;
  declared: RoleDecl[];
  instance: ModuleInstance | null;
  state: ModuleState;
  reason?: string;
  /** State of the instance this one replaced, kept while degraded (no instance) for the next one. */
  carry?: Record<string, unknown>;
  /** Why `daqd --safe` keeps it idle (no instance), if it does. */
  held?: string;
}

export interface ModuleView {
  id: string;
  type: string;
  state: ModuleState;
  reason?: string;
  roles: Record<string, string>;
  declaredRoles: { name: string; required: boolean; description: string; assigned?: string }[];
  status: Record<string, unknown>;
}

/**
 * The state a replacement instance starts from: the running instance's status, or the state a
 * module without an instance carries, marked `lapsed` (time passed with no instance acting: an
 * interlock's hold was released meanwhile and must be enforced again, not assumed).
 */
function handOver(current: Running): Record<string, unknown> | undefined {
  if (current.instance) return current.instance.status();
  return current.carry ? { ...current.carry, lapsed: true } : undefined;
}

const NONE: readonly Running[] = [];

export class ModuleSupervisor implements ModuleRuntime {
  private readonly modules = new Map<string, Running>();
  /** Built on demand from the modules' roles; dropped whenever a module comes or goes. */
  private routes: Map<string, Running[]> | null = null;
  private readonly unsubscribe: () => void;
  /** The running config's instruments, for ModuleContext.readingsOf. */
  private specs: ReadonlyMap<string, InstrumentSpec> = new Map();
  /** `daqd --safe`: why a module with these role instruments must stay idle, or undefined. */
  private holdReason: (instruments: string[]) => string | undefined = () => undefined;

  /** Safe mode: modules are created without an instance (nothing acts) while `reason` says so. */
  useSafeMode(reason: (instruments: string[]) => string | undefined): void {
    this.holdReason = reason;
  }

  /** Creates the instances of held modules that may run now (an instrument was released). */
  resumeHeld(): void {
    for (const m of [...this.modules.values()]) {
      if (!m.held || this.holdReason(Object.values(m.roles)) !== undefined) continue;
      this.modules.delete(m.id);
      this.routes = null;
      this.create(m.id, m.table as Record<string, unknown>, m.carry);
    }
  }

  constructor(
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly submit: (command: Command, origin: string) => Promise<CommandResult>,
    private readonly instrumentReady: (id: string) => boolean,
    private readonly safety?: SafetyLane,
    private readonly instrumentInfo?: (id: string) => InstrumentInfo | undefined,
    /** Modules' time (stale checks); tests pass a fake one. */
    private readonly clock: ModuleClock = realClock,
  ) {
    this.unsubscribe = events.subscribe((event) => this.route(event), { types: ['reading', 'module.reading', 'instrument.state'], owner: 'modules' });
  }

  sync(config: ConfigView, specs: ReadonlyMap<string, InstrumentSpec>): void {
    this.specs = specs;
    const wanted = config.modules ?? {};
    for (const id of [...this.modules.keys()]) {
      if (!Object.hasOwn(wanted, id)) this.dispose(id, 'removed');
    }
    for (const [id, table] of Object.entries(wanted)) {
      const current = this.modules.get(id);
      if (current && sameValue(current.table, table)) continue;
      // Same type reconfigured: hand the old state over (an interlock's latch must survive).
      const previous = current && current.type.name === (table as { type?: string }).type ? handOver(current) : undefined;
      // Dispose, then create, in one synchronous step: a tripped interlock's old instance releases
      // its safety hold and the new one takes it again (same holder id) before any set can run.
      // The other order would let the old release the new one's hold.
      if (current) this.dispose(id, 'reconfigured');
      this.create(id, table as Record<string, unknown>, previous);
    }
  }

  private create(id: string, table: Record<string, unknown>, previous?: Record<string, unknown>): void {
    const type = moduleTypes.get(table.type as string);
    if (!type) throw new DaqError('validation_failed', `module ${id}: unknown type "${String(table.type)}"`);
    const settings = type.settingsSchema.parse(moduleSettingsOf(table));
    const roles = { ...((table.roles ?? {}) as Record<string, string>) };
    const declared = type.roles(settings);
    const running: Running = { id, table, type, roles, declared, instance: null, state: 'idle', carry: previous };
    this.modules.set(id, running);
    this.routes = null;
    if (table.enabled === false) {
      this.setState(running, 'stopped', 'enabled = false');
      return;
    }
    const held = this.holdReason(Object.values(roles));
    if (held !== undefined) {
      running.held = held;
      this.setState(running, 'idle', held);
      this.events.emit({ type: 'module.added', module: id });
      return;
    }
    const missing = declared.filter((r) => r.required && !roles[r.name]).map((r) => r.name);
    if (missing.length === 0) {
      running.instance = type.create({
        id,
        settings,
        roles,
        log: this.log.child({ module: id }),
        emit: (event) => this.events.emit(event),
        submit: (command) => this.submit(command, `module:${id}`),
        readingsOf: (instrument) => {
          const spec = this.specs.get(instrument);
          return spec ? spec.driver.readings(spec.options) : undefined;
        },
        ...(previous ? { previous } : {}),
        ...(this.safety ? { safety: this.safety } : {}),
        ...(this.instrumentInfo ? { instrumentInfo: this.instrumentInfo } : {}),
        clock: guardedClock(this.clock, (err) => this.log.error({ module: id, err }, `module ${id} failed in a timer: ${describeError(err)}`)),
      });
    }
    this.refreshState(running);
    this.events.emit({ type: 'module.added', module: id });
  }

  private dispose(id: string, why: string): void {
    const running = this.modules.get(id);
    if (!running) return;
    try {
      running.instance?.dispose();
    } catch (err) {
      this.log.warn({ module: id }, `module dispose failed: ${describeError(err)}`);
    }
    this.modules.delete(id);
    this.routes = null;
    this.events.emit({ type: 'module.state', module: id, state: 'stopped', reason: why });
    if (why === 'removed') this.events.emit({ type: 'module.removed', module: id });
  }

  private refreshState(running: Running): void {
    if (running.table && (running.table as Record<string, unknown>).enabled === false) return;
    if (running.held) return;
    const missing = running.declared.filter((r) => r.required && !running.roles[r.name]).map((r) => r.name);
    if (missing.length > 0) return this.setState(running, 'degraded', `unassigned role(s): ${missing.join(', ')}`);
    const notReady = Object.values(running.roles).filter((i) => !this.instrumentReady(i));
    if (notReady.length > 0) return this.setState(running, 'idle', `waiting for ${[...new Set(notReady)].join(', ')}`);
    this.setState(running, 'running');
  }

  private setState(running: Running, state: ModuleState, reason?: string): void {
    if (running.state === state && running.reason === reason) return;
    running.state = state;
    running.reason = reason;
    this.events.emit({ type: 'module.state', module: running.id, state, ...(reason ? { reason } : {}) });
  }

  /**
   * Readings and state changes of a module's role instruments go to its instance; derived
   * readings go to every instance. State changes reach the instance too, not only refreshState:
   * an interlock must trip when its sensor goes to error (the module itself becomes idle then, and
   * idle instances still get events).
   */
  /** instrument id -> the modules with it in a role: a reading costs the modules that use it. */
  private modulesUsing(instrument: string): readonly Running[] {
    if (!this.routes) {
      this.routes = new Map();
      for (const m of this.modules.values()) {
        for (const i of new Set(Object.values(m.roles))) this.routes.set(i, [...(this.routes.get(i) ?? []), m]);
      }
    }
    return this.routes.get(instrument) ?? NONE;
  }

  private route(event: DaemonEvent): void {
    if (event.type === 'instrument.state') {
      for (const m of this.modulesUsing(event.instrument)) this.refreshState(m);
    }
    if (event.type !== 'reading' && event.type !== 'module.reading' && event.type !== 'instrument.state') return;
    const targets = event.type === 'module.reading' ? [...this.modules.values()] : this.modulesUsing(event.instrument);
    for (const m of targets) {
      if (!m.instance || m.state === 'degraded' || m.state === 'stopped') continue;
      try {
        m.instance.handleEvent(event);
      } catch (err) {
        this.log.error({ module: m.id, err }, `module ${m.id} failed handling an event: ${describeError(err)}`);
      }
    }
  }

  reset(id: string): Record<string, unknown> {
    const m = this.modules.get(id);
    if (!m) throw new DaqError('not_found', `no module "${id}"`);
    if (!m.instance) {
      // Not running (a role unassigned, or disabled): a latch it carries resumes when it runs again.
      const fix = m.state === 'stopped' ? 'enable it' : 'assign its roles';
      throw new DaqError('conflict', `module ${id} is ${m.state}${m.reason ? ` (${m.reason})` : ''} and not running, so it cannot be reset; ${fix} first`);
    }
    if (!m.instance.reset) throw new DaqError('invalid_params', `module ${id} (${m.type.name}) has nothing to reset`);
    m.instance.reset();
    return m.instance.status();
  }

  view(id: string): ModuleView | undefined {
    const m = this.modules.get(id);
    if (!m) return undefined;
    return {
      id,
      type: m.type.name,
      state: m.state,
      ...(m.reason ? { reason: m.reason } : {}),
      roles: { ...m.roles },
      declaredRoles: m.declared.map((r) => ({ name: r.name, required: r.required, description: r.description, ...(m.roles[r.name] ? { assigned: m.roles[r.name] } : {}) })),
      // A module that is not running shows the state it carries (e.g. a tripped latch), not nothing.
      status: m.instance?.status() ?? m.carry ?? {},
    };
  }

  ids(): string[] {
    return [...this.modules.keys()];
  }

  disposeAll(): void {
    for (const id of [...this.modules.keys()]) this.dispose(id, 'daemon stopping');
    this.unsubscribe();
  }
}
