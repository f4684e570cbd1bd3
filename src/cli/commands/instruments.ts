/** daqctl status / ls / get / add / rm / set / deps */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Ctl } from '../daqctl-main.js';
import { formatValue, formatValues, parseAssignments, table, UsageError } from '../format.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function persistedNote(r: any): string {
  const p = r?.persisted;
  if (!p) return '';
  return p.written ? '' : `\n(config file not updated: ${p.reason})`;
}

export function registerInstrumentCommands(program: Command, ctl: Ctl): void {
  program
    .command('status')
    .description('daemon version, uptime, config, counts, persistence and last reload')
    .action(() =>
      ctl.run('daemon.status', undefined, (s) => {
        const { total, ...states } = s.instruments;
        const lines = [
          `daqd ${s.version} (pid ${s.pid}), up ${s.uptimeS} s`,
          `config:      ${s.configPath}`,
          `instruments: ${total} (${Object.entries(states).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'})`,
          `modules:     ${s.modules.total}`,
          `file:        ${s.persistence.upToDate ? 'up to date' : `OUT OF DATE - ${s.persistence.reason}`}${s.persistence.enabled ? '' : ' (persistence disabled)'}`,
          ...(s.hotReload ? [`hot reload:  ${s.hotReload.enabled ? (s.hotReload.watching ? `watching (debounce ${s.hotReload.debounceMs} ms)` : 'enabled, not watching') : 'off (SIGHUP or daqctl reload)'}`] : []),
          `last reload: ${s.lastReload.outcome}${s.lastReload.at ? ` at ${s.lastReload.at}` : ''}${s.lastReload.summary ? ` (${s.lastReload.summary})` : ''}${s.lastReload.message ? ` - ${s.lastReload.message}` : ''}`,
        ];
        return lines.join('\n');
      }),
    );

  program
    .command('ls')
    .alias('list')
    .description('list instruments')
    .action(() =>
      ctl.run('instrument.list', undefined, (r) =>
        table(
          ['ID', 'DRIVER', 'PORT', 'STATE', 'SEQ', 'LAST READING', 'ERROR'],
          r.instruments.map((i: any) => [i.id, i.driver, i.port, i.state, i.lastReading?.seq ?? '-', formatValues(i.lastReading?.values), i.state === 'error' ? (i.lastError?.message ?? '') : '']),
        ),
      ),
    );

  program
    .command('get <id>')
    .description('one instrument in detail')
    .action((id: string) =>
      ctl.run('instrument.get', { id }, (i) =>
        [
          `${i.id}: ${i.driver} on ${i.port}, ${i.state}, every ${i.pollIntervalMs} ms`,
          `params:  ${formatValues(i.params)}`,
          `reading: ${i.lastReading ? `#${i.lastReading.seq} ${i.lastReading.ts} ${formatValues(i.lastReading.values)}` : '-'}`,
          `polls:   ${i.polls} ok, ${i.pollErrors} failed`,
          ...(i.lastError ? [`error:   ${i.lastError.message} (${i.lastError.kind}, ${i.lastError.at})`] : []),
        ].join('\n'),
      ),
    );

  program
    .command('add <id>')
    .description('add an instrument: --driver and --port (and --param k=v), or --toml FILE')
    .option('--driver <name>', 'driver, e.g. newport_1830c')
    .option('--port <port>', '"sim" or a serial device path')
    .option('--param <k=v>', 'parameter value (repeatable)', collect)
    .option('--set <k=v>', 'other instrument key, e.g. poll_interval_ms=500 or baud_rate=19200 (repeatable)', collect)
    .option('--toml <file>', 'the instrument table as TOML (bare, or with [instruments.<id>])')
    .option('--no-persist', 'do not write the change to the config file')
    .action((id: string, o: { driver?: string; port?: string; param?: string[]; set?: string[]; toml?: string; persist: boolean }) => {
      const persist = o.persist === false ? false : undefined;
      let params: Record<string, unknown>;
      if (o.toml) {
        params = { id, toml: readFileSync(o.toml, 'utf8'), ...(persist === false ? { persist } : {}) };
      } else {
        if (!o.driver || !o.port) throw new UsageError('add needs --driver and --port (or --toml FILE)');
        const config: Record<string, unknown> = { driver: o.driver, port: o.port, ...parseAssignments(o.set ?? []) };
        if (o.param?.length) config.params = parseAssignments(o.param);
        params = { id, config, ...(persist === false ? { persist } : {}) };
      }
      return ctl.run('instrument.add', params, (r) => `added ${r.id} (${r.instrument?.state ?? 'starting'})${persistedNote(r)}`);
    });

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
        return [`removed ${r.removed}`, ...extra].join('\n') + persistedNote(r);
      }),
    );

  program
    .command('set <id> <assignments...>')
    .description('set parameters: daqctl set pm1 wavelength_nm=820 attenuator=true')
    .option('--no-persist', 'do not write the change to the config file')
    .action((id: string, words: string[], o: { persist: boolean }) =>
      ctl.run('instrument.set', { id, params: parseAssignments(words), ...(o.persist === false ? { persist: false } : {}) }, (r) => {
        const confirmed = Object.entries(r.params ?? {}).map(([k, v]) => `${k}=${formatValue(v)}`);
        if (r.poll_interval_ms !== undefined) confirmed.push(`poll_interval_ms=${r.poll_interval_ms}`);
        return `${r.id}: ${confirmed.join(' ')}${r.reconnected ? ' (reconnected)' : ''}${persistedNote(r)}`;
      }),
    );

  program
    .command('deps <id>')
    .description('which modules use an instrument, in which roles')
    .action((id: string) =>
      ctl.run('instrument.dependencies', { id }, (r) =>
        r.usedBy.length === 0 ? `${r.instrument} is not used by any module` : table(['MODULE', 'TYPE', 'ROLE'], r.usedBy.map((u: any) => [u.module, u.moduleType, u.role])),
      ),
    );
}
