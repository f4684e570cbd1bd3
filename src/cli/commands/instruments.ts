/** daqctl status / ls / get / add / rm / set / abort / deps */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AbortResult, AddResult, DaemonStatusView, InstrumentView, SetResult } from '../../client/types.js';
import type { Ctl } from '../daqctl-main.js';
import { convertSetWords, literalAssignments, splitAssignment } from '../convert.js';
import { table, UsageError } from '../format.js';
import { startSpinner } from '../spinner.js';
import { addOutcome, addProblem, formatAbort, formatAdd, formatInstrument, formatList, formatSet, persistedNote } from '../views/instrument.js';
import { formatStatus } from '../views/status.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** How long `add` waits for the first connection by default. */
const DEFAULT_ADD_TIMEOUT_S = 10;
/** daqctl stops waiting this long after daqd should have answered (a daqd that never does). */
const ANSWER_GRACE_MS = 5000;

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_ADD_TIMEOUT_S;
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s <= 0) throw new UsageError(`--timeout takes seconds, a number above 0 (got "${text}")`);
  return s;
}

export function registerInstrumentCommands(program: Command, ctl: Ctl): void {
  program
    .command('status')
    .description('trouble (interlocks, alarms, errors, drift, config file), then version, uptime, config, counts')
    .action(() => ctl.run<DaemonStatusView>('daemon.status', undefined, formatStatus));

  program
    .command('ls')
    .alias('list')
    .description('list instruments')
    .action(() =>
      ctl.run<{ instruments: InstrumentView[] }>('instrument.list', undefined, (r) => formatList(r.instruments)),
    );

  program
    .command('get <id>')
    .description('one instrument: parameters configured vs on the device, drift, holds, last reading')
    .option('--refresh', 'read the parameter values from the device first')
    .action((id: string, o: { refresh?: boolean }) =>
      ctl.run<InstrumentView>('instrument.get', { id, ...(o.refresh ? { refresh: true } : {}) }, (i) => formatInstrument(i)),
    );

  program
    .command('add <id>')
    .description('add an instrument: --driver and --port (and --param k=v), or --toml FILE; waits for the first connection')
    .option('--driver <name>', 'driver, e.g. newport_1830c')
    .option('--port <port>', '"sim" or a serial device path')
    .option('--param <k=v>', 'parameter value (repeatable); true/false and numbers are typed, "quoted" text stays text', collect)
    .option('--set <k=v>', 'other instrument key, e.g. poll_interval_ms=500 or baud_rate=19200 (repeatable)', collect)
    .option('--toml <file>', 'the instrument table as TOML (bare, or with [instruments.<id>])')
    .option('--wait', 'wait until it is ready or its first connection failed (the default)')
    .option('--no-wait', 'answer as soon as it is added (state connecting)')
    .option('--timeout <s>', `seconds to wait for the first connection (default ${DEFAULT_ADD_TIMEOUT_S})`)
    .option('--no-persist', 'do not write the change to the config file')
    .action(
      (id: string, o: { driver?: string; port?: string; param?: string[]; set?: string[]; toml?: string; wait?: boolean; timeout?: string; persist: boolean }) => {
        const wait = o.wait !== false;
        const timeoutS = parseTimeout(o.timeout);
        const params: Record<string, unknown> = { id };
        if (o.toml) {
          params.toml = readFileSync(o.toml, 'utf8');
        } else {
          if (!o.driver || !o.port) throw new UsageError('add needs --driver and --port (or --toml FILE)');
          // The instrument does not exist yet, so its parameter types are unknown: literals only;
          // daqd checks the values against the driver and says what to give instead.
          const config: Record<string, unknown> = { driver: o.driver, port: o.port, ...literalAssignments(o.set ?? []) };
          if (o.param?.length) config.params = literalAssignments(o.param);
          params.config = config;
        }
        if (o.persist === false) params.persist = false;
        if (wait) Object.assign(params, { wait: true, timeoutMs: Math.round(timeoutS * 1000) });
        return ctl.session<AddResult>(
          async (client) => {
            const stop = wait && !ctl.json ? startSpinner(`adding ${id}: waiting for the first connection`) : () => {};
            try {
              return await client.call('instrument.add', params, wait ? { timeoutMs: timeoutS * 1000 + ANSWER_GRACE_MS } : {});
            } finally {
              stop();
            }
          },
          (r) => (addOutcome(r, wait) === 'ok' ? formatAdd(r) : null),
          (r) => {
            const outcome = addOutcome(r, wait);
            const problem = addProblem(r, outcome, timeoutS);
            return { exitCode: outcome === 'ok' ? 0 : 1, ...(problem ? { stderr: problem + persistedNote(r.persisted) } : {}) };
          },
        );
      },
    );

  program
    .command('rm <id>')
    .alias('remove')
    .description('stop and remove an instrument')
    .option('--force', 'remove even if modules use it (they are left degraded)')
    .option('--cascade', 'also remove the modules that use it')
    .option('--no-persist', 'do not write the change to the config file')
    .action((id: string, o: { force?: boolean; cascade?: boolean; persist: boolean }) =>
      ctl.run('instrument.remove', { id, ...(o.force ? { force: true } : {}), ...(o.cascade ? { cascade: true } : {}), ...(o.persist === false ? { persist: false } : {}) }, (r) => {
        const extra = [r.removedModules ? `removed modules: ${r.removedModules.join(', ')}` : '', r.note ?? ''].filter(Boolean);
        return [`removed ${r.removed}`, ...extra].join('\n') + persistedNote(r.persisted);
      }),
    );

  program
    .command('set <id> <assignments...>')
    .description('set parameters: daqctl set laser shutter=off wavelength_nm=820 (words typed by the parameter\'s declared type)')
    .option('--no-persist', 'do not write the change to the config file')
    .action((id: string, words: string[], o: { persist: boolean }) => {
      words.forEach(splitAssignment); // a malformed word is a usage error before anything is sent
      return ctl.session<SetResult>(
        async (client) => {
          // The declared types turn "off" into false before sending: daqd accepts typed values only.
          const view = (await client.call('instrument.get', { id })) as InstrumentView;
          const params = convertSetWords(id, words, view.parameters);
          return client.call('instrument.set', { id, params, ...(o.persist === false ? { persist: false } : {}) });
        },
        formatSet,
      );
    });

  program
    .command('abort <id>')
    .description('stop the operation in flight (a move, a set) and fail the queued sets')
    .action((id: string) => ctl.run<AbortResult>('instrument.abort', { id }, formatAbort));

  program
    .command('deps <id>')
    .description('which modules use an instrument, in which roles')
    .action((id: string) =>
      ctl.run('instrument.dependencies', { id }, (r) =>
        r.usedBy.length === 0 ? `${r.instrument} is not used by any module` : table(['MODULE', 'TYPE', 'ROLE'], r.usedBy.map((u: any) => [u.module, u.moduleType, u.role])),
      ),
    );
}
