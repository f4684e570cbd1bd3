import type { z } from 'zod';
import type { Logger } from 'pino';
import type { DaemonEvent } from '../core/events.js';
import type { Command, CommandResult } from '../core/commands.js';
import type { ParamValue, ReadingDecl } from '../drivers/types.js';

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
   * the one it replaces was tripped.
   */
  previous?: Record<string, unknown>;
  /**
   * The readings an instrument of the running config declares (its driver's readings for its
   * options), or undefined if there is no such instrument. Looked up live, so a module sees an
   * instrument's redefinition. An interlock uses it to tell whether it can watch its actuator.
   */
  readingsOf?(instrument: string): readonly ReadingDecl[] | undefined;
}

/** A running module: reacts to daemon events (readings of its role instruments). */
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
