import type { z } from 'zod';
import type { Logger } from 'pino';
import type { DaemonEvent } from '../core/events.js';
import type { Command, CommandResult } from '../core/commands.js';
import type { ParamValue, ReadingDecl } from '../drivers/types.js';
import type { ModuleClock } from './clock.js';

/** What a role needs from the instrument assigned to it. */
export type Capability =
  | { kind: 'reading'; name: string } // the instrument provides this reading
  // the instrument has this parameter, settable while running (and `value`, if given, is valid for it)
  | { kind: 'settable'; name: string; value?: ParamValue };

export interface RoleDecl {
  name: string;
  description: string;
  /** A module with an unassigned required role is degraded (it does not act). */
  required: boolean;
  needs: Capability[];
}

/**
 * The safety lane (issue #15): how an interlock reaches its actuator without the config path. Its
 * actions are never refused because of the config file's state and never persisted; they go ahead
 * of every queued command on the actuator and abort the actuator's operation in flight first.
 */
export interface SafetyLane {
  /**
   * Put `instrument.param` at `value` now: abort the operation in flight, fail the actuator's
   * queued sets with kind `aborted`, write ahead of everything queued on its link, confirm by
   * read-back. Resolves with the confirmed value; rejects (not_ready, device_error, timeout...) when
   * the device cannot be reached or refuses.
   */
  enforce(instrument: string, param: string, value: ParamValue, holder: string): Promise<ParamValue>;
  /**
   * From now on a set of `instrument.param` to anything but `value` (numbers: within `tolerance`)
   * is refused with kind `unsafe`, naming `holder`, and nothing is sent. Replaces the holder's
   * previous hold of the same parameter.
   */
  hold(instrument: string, param: string, value: ParamValue, holder: string, tolerance?: number): void;
  /** Ends every hold of `holder` (reset, module removed or recreated). */
  release(holder: string): void;
}

/** What a module may know of an instrument's connection, read live. */
export interface InstrumentInfo {
  state: string;
  pollIntervalMs: number;
  lastError: { kind: string; message: string } | null;
}

export interface ModuleContext<Settings> {
  id: string;
  settings: Settings;
  /** role -> instrument id (only assigned roles). */
  roles: Readonly<Record<string, string>>;
  log: Logger;
  /** Publish an event (alarms, derived readings). */
  emit(event: DaemonEvent): void;
  /** Submit a command through the manager, the same path as the socket. */
  submit(command: Command): Promise<CommandResult>;
  /**
   * The status() of the instance this one replaces (same module id and type: its settings or
   * roles changed). A safety latch must survive a reconfiguration: an interlock starts tripped if
   * the one it replaces was tripped. The old instance is disposed just before this one is created,
   * in the same synchronous step. `lapsed: true` is added when the module had no instance for a
   * while (a role unassigned, or disabled): nothing acted meanwhile.
   */
  previous?: Record<string, unknown>;
  /**
   * The readings an instrument of the running config declares (its driver's readings for its
   * options), or undefined if there is no such instrument. Looked up live, so a module sees an
   * instrument's redefinition. An interlock uses it to tell whether it can watch its actuator.
   */
  readingsOf?(instrument: string): readonly ReadingDecl[] | undefined;
  /** The safety lane (interlocks). */
  safety?: SafetyLane;
  /** An instrument's connection state and poll interval, or undefined if there is no such instrument. */
  instrumentInfo?(instrument: string): InstrumentInfo | undefined;
  /** Time and timers (ages, stale checks). Absent: the real clock (clock.ts). Tests give a fake one. */
  clock?: ModuleClock;
}

/**
 * A running module: reacts to daemon events (readings of its role instruments, and the
 * `instrument.state` changes of its role instruments).
 */
export interface ModuleInstance {
  handleEvent(event: DaemonEvent): void;
  /** Module-specific status for module.list (alarm state, latched, last value...). */
  status(): Record<string, unknown>;
  /** Clear a latch / alarm (the `module.reset` command). */
  reset?(): void;
  dispose(): void;
}

export interface ModuleTypeDefinition<Settings = any> {
  /** The `type = "..."` name in the config. */
  name: string;
  description: string;
  /** The module's own settings: the keys of its table besides type, description, enabled, roles. */
  settingsSchema: z.ZodType<Settings>;
  roles(settings: Settings): RoleDecl[];
  create(ctx: ModuleContext<Settings>): ModuleInstance;
}
