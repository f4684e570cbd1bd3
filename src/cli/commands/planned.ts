/**
 * Contract commands whose daemon side comes in a later milestone register here: they reach daqd and
 * report `not_implemented`. None now (tx: commands/tx.ts; snapshot, versions, diff, rollback:
 * commands/versions.ts).
 */
import type { Command } from 'commander';
import type { Ctl } from '../ctl.js';

export function registerPlannedCommands(_program: Command, _ctl: Ctl): void {}
