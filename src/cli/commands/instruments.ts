/**
 * daqctl status / ls / get / add / rm / set / abort / deps. Views and helpers are imported when a
 * command runs, so starting daqctl loads only what the command in hand needs.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AbortResult, AddResult, DaemonStatusView, InstrumentView, SetResult } from '../../client/types.js';
import type { Ctl } from '../ctl.js';
import { UsageError } from '../exit.js';
import { collect, noPersist, parseTimeout, DEFAULT_WAIT_S, ANSWER_GRACE_MS } from './options.js';

/** The text of `--toml FILE`; a file that cannot be read is a usage error. */
function readTomlFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --toml ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

interface AddOptions {
  driver?: string;
  port?: string;
  param?: string[];
  set?: string[];
  toml?: string;
  wait?: boolean;
  timeout?: string;
  persist: boolean;
}

/** The params of instrument.add from the flags, or from --toml FILE (never both: see below). */
async function addParams(id: string, o: AddOptions): Promise<Record<string, unknown>> {
  if (o.toml) {
    // The file holds the whole table. Merging flags into it would leave two places that say what
    // the instrument is; refusing is the one reading that cannot surprise.
    const flags = [o.driver && '--driver', o.port && '--port', o.param?.length && '--param', o.set?.length && '--set'].filter(Boolean);
    if (flags.length > 0) {
      throw new UsageError(`--toml FILE gives the whole instrument table; ${flags.join(', ')} cannot be combined with it (put those keys in the file, or leave out --toml)`);
    }
    return { id, toml: readTomlFile(o.toml) };
  }
  if (!o.driver || !o.port) throw new UsageError('add needs --driver and --port (or --toml FILE)');
  const { literalAssignments } = await import('../convert.js');
  // The instrument does not exist yet, so its parameter types are unknown: literals only; daqd
  // checks the values against the driver and says what to give instead.
  const config: Record<string, unknown> = { driver: o.driver, port: o.port, ...literalAssignments(o.set ?? []) };
  if (o.param?.length) config.params = literalAssignments(o.param);
  return { id, config };
}

export function registerInstrumentCommands(program: Command, ctl: Ctl): void {
  program
    .command('status')
    .description('trouble (interlocks, alarms, errors, drift, config file), then version, uptime, config, counts, memory-only changes')
    .action(async () => {
      const { formatStatus } = await import('../views/status.js');
      await ctl.run<DaemonStatusView>('daemon.status', undefined, (s) => formatStatus(s));
    });

  program
    .command('ls')
    .alias('list')
    .description('list instruments')
    .action(async () => {
      const { formatList } = await import('../views/instrument.js');
      await ctl.run<{ instruments: InstrumentView[] }>('instrument.list', undefined, (r) => formatList(r.instruments));
    });

  program
    .command('get <id>')
    .description('one instrument: parameters configured vs on the device, drift, holds, memory-only changes, last reading')
    .option('--refresh', 'read the parameter values from the device first')
    .action(async (id: string, o: { refresh?: boolean }) => {
      const { formatInstrument } = await import('../views/instrument.js');
      await ctl.run<InstrumentView>('instrument.get', { id, ...(o.refresh ? { refresh: true } : {}) }, (i) => formatInstrument(i));
    });

  program
    .command('add <id>')
    .description('add an instrument: --driver and --port (and --param k=v), or --toml FILE; waits for the first connection')
    .option('--driver <name>', 'driver, e.g. newport_1830c (daqctl drivers lists them)')
    .option('--port <port>', '"sim" or a serial device path (daqctl ports lists them)')
    .option('--param <k=v>', 'parameter value (repeatable); true/false and numbers are typed, "quoted" text stays text', collect)
    .option('--set <k=v>', 'other instrument key, e.g. poll_interval_ms=500 or baud_rate=19200 (repeatable)', collect)
    .option('--toml <file>', 'the whole instrument table as TOML (bare, or with [instruments.<id>]); not with the flags above')
    .option('--wait', 'wait until it is ready or its first connection failed (the default)')
    .option('--no-wait', 'answer as soon as it is added (state connecting)')
    .option('--timeout <s>', `seconds to wait for the first connection (default ${DEFAULT_WAIT_S})`)
    .option('--no-persist', 'do not write the change to the config file')
    .action(async (id: string, o: AddOptions) => {
      const wait = o.wait !== false;
      const timeoutS = parseTimeout(o.timeout);
      const params = { ...(await addParams(id, o)), ...noPersist(o) };
      if (wait) Object.assign(params, { wait: true, timeoutMs: Math.round(timeoutS * 1000) });
      const [{ addOutcome, addProblem, formatAdd, persistedNote }, { withProgress }] = await Promise.all([import('../views/instrument.js'), import('../progress.js')]);
      await ctl.session<AddResult>(
        (client) => {
          const call = client.call<AddResult>('instrument.add', params, wait ? { timeoutMs: timeoutS * 1000 + ANSWER_GRACE_MS } : {});
          if (!wait) return call;
          return withProgress(`adding ${id}: waiting for the first connection`, call, async () => `stopped waiting for ${id}'s first connection; the add was sent and goes on (daqctl get ${id}; daqctl rm ${id} to give up)`);
        },
        (r) => (addOutcome(r, wait) === 'ok' ? formatAdd(r) : null),
        (r) => {
          const outcome = addOutcome(r, wait);
          const problem = addProblem(r, outcome, timeoutS);
          return { exitCode: outcome === 'ok' ? 0 : 1, ...(problem ? { stderr: problem + persistedNote(r.persisted) } : {}) };
        },
      );
    });

  program
    .command('rm <id>')
    .alias('remove')
    .description('stop and remove an instrument')
    .option('--force', 'remove even if modules use it (they are left degraded)')
    .option('--cascade', 'also remove the modules that use it')
    .option('--no-persist', 'do not write the change to the config file')
    .action(async (id: string, o: { force?: boolean; cascade?: boolean; persist: boolean }) => {
      const { persistedNote } = await import('../views/instrument.js');
      const params = { id, ...(o.force ? { force: true } : {}), ...(o.cascade ? { cascade: true } : {}), ...noPersist(o) };
      await ctl.run('instrument.remove', params, (r) => {
        const extra = [r.removedModules ? `removed modules: ${r.removedModules.join(', ')}` : '', r.note ?? ''].filter(Boolean);
        return [`removed ${r.removed}`, ...extra].join('\n') + persistedNote(r.persisted);
      });
    });

  program
    .command('set <id> <assignments...>')
    .description("set parameters: daqctl set laser shutter=off wavelength_nm=820 (words typed by the parameter's declared type)")
    .option('--no-persist', 'do not write the change to the config file')
    .action(async (id: string, words: string[], o: { persist: boolean }) => {
      const [{ convertSetWords, splitAssignment }, { formatAbort, formatSet }, { withProgress }] = await Promise.all([
        import('../convert.js'),
        import('../views/instrument.js'),
        import('../progress.js'),
      ]);
      words.forEach(splitAssignment); // a malformed word is a usage error before anything is sent
      await ctl.session<SetResult>(async (client) => {
        // The declared types turn "off" into false before sending: daqd accepts typed values only.
        const view = await client.call<InstrumentView>('instrument.get', { id });
        const params = convertSetWords(id, words, view.parameters);
        const set = client.call<SetResult>('instrument.set', { id, params, ...noPersist(o) });
        // A set that moves a stage can take seconds: a spinner, and Ctrl-C stops the move.
        return withProgress(`${id}: setting ${words.join(' ')}`, set, async () => {
          const aborted = await client.call<AbortResult>('instrument.abort', { id }, { timeoutMs: 3000 });
          const late = await Promise.race([
            set.then((r) => `too late: the set was already confirmed (${formatSet(r)})`, () => ''),
            new Promise<string>((resolve) => setTimeout(() => resolve(`; the set's outcome is unknown (daqctl get ${id})`), 2000).unref()),
          ]);
          return late.startsWith('too late') ? late : formatAbort(aborted) + late;
        });
      }, formatSet);
    });

  program
    .command('abort <id>')
    .description('stop the operation in flight (a move, a set) and fail the queued sets')
    .action(async (id: string) => {
      const { formatAbort } = await import('../views/instrument.js');
      await ctl.run<AbortResult>('instrument.abort', { id }, formatAbort);
    });

  program
    .command('deps <id>')
    .description('which modules use an instrument, in which roles')
    .action(async (id: string) => {
      const { table } = await import('../format.js');
      await ctl.run<{ instrument: string; usedBy: { module: string; moduleType: string; role: string }[] }>('instrument.dependencies', { id }, (r) =>
        r.usedBy.length === 0 ? `${r.instrument} is not used by any module` : table(['MODULE', 'TYPE', 'ROLE'], r.usedBy.map((u) => [u.module, u.moduleType, u.role])),
      );
    });
}
