/**
 * `daqctl status`: trouble first (a tripped interlock must not hide under the uptime), then the
 * summary. Pure functions of the daemon.status / config.reloadStatus results.
 */
import type { DaemonStatusView, ReloadStatusView, Trouble } from '../../client/types.js';
import { cutTo, formatValue, outputWidth } from '../format.js';
import { formatMs } from '../numbers.js';
import { overrideLine, overrideSection } from './overrides.js';

/** One line per problem daqd reports; empty when there is none. */
export function troubleLines(t: Trouble): string[] {
  const lines: string[] = [];
  for (const i of t.interlocks ?? []) {
    const cause = i.cause === undefined ? '' : `: ${typeof i.cause === 'string' ? i.cause : JSON.stringify(i.cause)}`;
    lines.push(`interlock ${i.module} TRIPPED since ${i.since}${cause}${i.message ? ` - ${i.message}` : ''} (daqctl module reset ${i.module})`);
  }
  for (const a of t.alarms ?? []) lines.push(`alarm ${a.module}: ${a.message}`);
  for (const m of t.degradedModules ?? []) lines.push(`module ${m.module} degraded: ${m.reason}`);
  for (const i of t.instrumentsInError ?? []) lines.push(`instrument ${i.id} in error: ${i.message} [${i.kind}]`);
  for (const d of t.drift ?? []) {
    lines.push(`drift ${d.instrument}.${d.param}: ${formatValue(d.device)} on the device, ${formatValue(d.configured)} in the config`);
  }
  const f = t.configFile;
  if (f) {
    // daqd's message explains the failed reload when there is one, else the first problem named.
    const why = f.message ? `: ${f.message}` : '';
    const says = f.reloadFailed ? 'reload' : f.missing ? 'missing' : 'edit';
    if (f.missing) lines.push(`config file missing${says === 'missing' ? why : ''}`);
    if (f.unloadedEdit) lines.push(`config file edited but not loaded${says === 'edit' ? why : ''} (daqctl reload)`);
    if (f.reloadFailed) lines.push(`last reload failed${why} (daqctl reload --status)`);
  }
  return lines;
}

/** The trouble section: "TROUBLE (n):" and the lines, or "no trouble"; nothing from a daqd that does not report it. */
export function formatTrouble(t: Trouble | undefined): string[] {
  if (!t) return [];
  const lines = troubleLines(t);
  if (lines.length === 0) return ['no trouble'];
  return [`TROUBLE (${lines.length}):`, ...lines.map((l) => `  ! ${l}`)];
}

export function formatStatus(s: DaemonStatusView, width = outputWidth()): string {
  const { total, ...states } = s.instruments;
  const hot = s.hotReload;
  const reload = s.lastReload;
  return [
    `daqd ${s.version} (pid ${s.pid}), up ${s.uptimeS} s`,
    ...formatTrouble(s.trouble),
    `config:      ${s.configPath}`,
    `instruments: ${total} (${Object.entries(states).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'})`,
    `modules:     ${s.modules.total}`,
    `file:        ${s.persistence.upToDate ? 'up to date' : `OUT OF DATE - ${s.persistence.reason}`}${s.persistence.enabled ? '' : ' (persistence disabled)'}`,
    ...overrideSection(s.overrides),
    ...(hot ? [`hot reload:  ${hot.enabled ? (hot.watching ? `watching (debounce ${hot.debounceMs} ms)` : 'enabled, not watching') : 'off (SIGHUP or daqctl reload)'}`] : []),
    // The summary lists every table the reload touched: cut to the width (daqctl reload --status has it all).
    cutTo(`last reload: ${reload.outcome}${reload.at ? ` at ${reload.at}` : ''}${reload.summary ? ` (${reload.summary})` : ''}`, width) + (reload.message ? ` - ${reload.message}` : ''),
  ].join('\n');
}

/** `daqctl reload` / `reload --status`. */
export function formatReload(r: ReloadStatusView): string {
  if (r.outcome === 'failed') {
    const errs = (r.errors ?? []).map((e) => `  ${e.line !== undefined ? `line ${e.line}: ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}`);
    return [`reload failed at ${r.at}; the running config is unchanged:`, ...errs].join('\n');
  }
  if (r.outcome === 'never') return 'no reload yet';
  const lines = [`${r.outcome}${r.at ? ` at ${r.at}` : ''}${r.durationMs !== undefined ? ` in ${formatMs(r.durationMs)}` : ''}${r.source ? ` (${r.source})` : ''}: ${r.summary ?? r.reason ?? ''}`];
  const o = r.overrides;
  if (o?.note) lines.push(o.note);
  for (const x of o?.replaced ?? []) lines.push(`  replaced by the edit: ${overrideLine(x)}`);
  if (o?.kept.length) lines.push(`kept ${o.kept.length} memory-only change${o.kept.length === 1 ? '' : 's'} the edit did not touch (daqctl status lists them)`);
  return lines.join('\n');
}
