/** Command type -> handler. One file per command family. */
import type { Command, CommandResult, CommandType } from '../commands.js';
import type { Execution } from '../execution.js';
import { addInstrument, enableInstrument, recordInstrument, removeInstrument, restartInstrument, setInstrument } from './instrument.js';
import { addModule, assignRole, removeModule, resetModule, setModule, unassignRole } from './module.js';
import { reloadConfig, syncConfig } from './config.js';
import { DaqError } from '../../errors.js';

type Handler<T extends CommandType> = (x: Execution, cmd: Extract<Command, { type: T }>) => Promise<CommandResult>;

const handlers: { [T in CommandType]: Handler<T> } = {
  'instrument.add': addInstrument,
  'instrument.remove': removeInstrument,
  'instrument.set': setInstrument,
  'instrument.record': recordInstrument,
  'instrument.enable': enableInstrument,
  'instrument.disable': enableInstrument,
  'instrument.restart': restartInstrument,
  'module.add': addModule,
  'module.remove': removeModule,
  'module.assign': assignRole,
  'module.unassign': unassignRole,
  'module.reset': resetModule,
  'module.set': setModule,
  'config.reload': reloadConfig,
  'config.sync': syncConfig,
  'tx.apply': (x, cmd) => {
    if (!x.services.tx) throw new DaqError('unavailable', 'transactions are not running in this daqd');
    return x.services.tx.apply(x, cmd);
  },
  'version.rollback': (x, cmd) => {
    if (!x.services.versions) throw new DaqError('unavailable', 'config versions are not running in this daqd');
    return x.services.versions.apply(x, cmd);
  },
};

export function handlerFor<T extends CommandType>(type: T): Handler<T> {
  return handlers[type];
}

/** Commands that change the config and so must not overwrite a person's unsaved-in-daqd edit. */
export const WRITES_CONFIG: ReadonlySet<CommandType> = new Set([
  'instrument.add',
  'instrument.remove',
  'instrument.set',
  'instrument.record',
  'instrument.enable',
  'instrument.disable',
  'module.add',
  'module.remove',
  'module.assign',
  'module.unassign',
  'module.set',
  'tx.apply',
  'version.rollback',
]);
