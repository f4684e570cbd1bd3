/**
 * daqctl snapshot [--label L], versions, versions rm ID, diff A [B], rollback ID [--dry-run]
 * [--with-actions]: config versions (issue #19, docs/versions.md).
 */
import type { Command } from 'commander';
import type { Ctl, Outcome } from '../ctl.js';
import { table } from '../format.js';
import { UsageError } from '../exit.js';
import { formatPlan } from './tx.js';

interface Entry {
  id: string;
  time: string;
  label?: string;
  revision?: number;
  cause?: string;
  summary?: string;
  origin?: string;
  problems?: string[];
}

interface Plan {
  summary: string;
  start: string[];
  stop: string[];
  reconnect: string[];
  set: Record<string, Record<string, { from?: unknown; to?: unknown }>>;
  send: Record<string, Record<string, unknown>>;
  actions: Record<string, Record<string, unknown>>;
  actionsPerformed: boolean;
  drift: Record<string, Record<string, unknown>>;
  modules: { added: string[]; removed: string[]; changed: string[] };
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** The time as a person reads it, local: 11-30 07:19:38 (the id has the UTC date and time too). */
function when(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return Number.isNaN(d.getTime()) ? '?' : `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Colour a unified diff for a terminal (red -, green +, cyan @@); NO_COLOR or a pipe: plain. */
export function colourDiff(text: string, colour: boolean): string {
  if (!colour) return text;
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('===')) return `\x1b[1m${line}\x1b[0m`;
      if (line.startsWith('+')) return `\x1b[32m${line}\x1b[0m`;
      if (line.startsWith('-')) return `\x1b[31m${line}\x1b[0m`;
      if (line.startsWith('@@')) return `\x1b[36m${line}\x1b[0m`;
      return line;
    })
    .join('\n');
}

function rollbackPlan(plan: Plan): string {
  // The shared plan view, with actions said the way a rollback treats them.
  const lines = formatPlan({ ...plan, actions: {} })
    .split('\n')
    .filter((l) => l !== 'no change' || (Object.keys(plan.actions).length === 0 && Object.keys(plan.drift).length === 0));
  for (const [id, values] of Object.entries(plan.drift)) lines.push(`drift:      ${id}: ${Object.entries(values).map(([k, v]) => `${k}=${show(v)}`).join(' ')} (the device drifted; set back)`);
  for (const [id, values] of Object.entries(plan.actions)) {
    lines.push(`action:     ${id}: ${Object.entries(values).map(([k, v]) => `${k}=${show(v)}`).join(' ')} ${plan.actionsPerformed ? '(performed)' : '(NOT performed: --with-actions performs it)'}`);
  }
  return lines.join('\n') || 'no change';
}

export function registerVersionCommands(program: Command, ctl: Ctl): void {
  // Placeholders an older registration may have added (commands/planned.ts) are replaced.
  const commands = program.commands as Command[];
  for (const name of ['snapshot', 'versions', 'rollback', 'diff']) {
    const i = commands.findIndex((c) => c.name() === name);
    if (i >= 0) commands.splice(i, 1);
  }

  program
    .command('snapshot')
    .description('snapshot the config file now (a labelled snapshot is kept by retention)')
    .option('--label <label>', 'a name for it: 1 to 64 of A-Z a-z 0-9 . _ -')
    .action((o: { label?: string }) =>
      ctl.run<Entry & { created: boolean; note?: string }>('version.create', o.label !== undefined ? { label: o.label } : {}, (r) => (r.created ? r.id : `${r.id}\n(${r.note ?? 'unchanged'})`)),
    );

  const versions = program
    .command('versions')
    .description('list config versions, newest first (versions rm ID deletes one)')
    .action(() =>
      ctl.run<{ dir: string; enabled: boolean; retention: number; versions: Entry[] }>('version.list', undefined, (r) => {
        if (r.versions.length === 0) return `no config versions in ${r.dir}${r.enabled ? '' : ' (automatic snapshots are off: enable_versioning = false)'}`;
        const rows = r.versions.map((v) => [v.id, when(v.time), v.label ?? '', v.revision ?? '?', [v.cause ?? '?', v.summary ? `${v.summary}` : ''].filter(Boolean).join(': ')]);
        const out = [table(['ID', 'TIME', 'LABEL', 'REV', 'CAUSE'], rows)];
        const broken = r.versions.filter((v) => v.problems?.length);
        for (const v of broken) out.push(`! ${v.id}: ${v.problems!.join('; ')}`);
        out.push(`(${r.versions.length} in ${r.dir}; the newest ${r.retention} unlabelled ones are kept${r.enabled ? '' : '; automatic snapshots are off'})`);
        return out.join('\n');
      }),
    );
  versions
    .command('rm <id>')
    .alias('delete')
    .description('delete a config version')
    .action((id: string) => ctl.run<{ deleted: string }>('version.delete', { id }, (r) => `deleted ${r.deleted}`));

  program
    .command('diff <a> [b]')
    .description('unified diff between two of: a version id, current (the file), running (the running config), previous; B defaults to current')
    .action((a: string, b: string | undefined) =>
      ctl.run<{ a: string; b: string; identical: boolean; diff: string }>('version.diff', { a, ...(b !== undefined ? { b } : {}) }, (r) => {
        if (r.identical) return `${r.a} and ${r.b} are identical`;
        const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
        return colourDiff(r.diff.replace(/\n$/, ''), colour);
      }),
    );

  program
    .command('rollback <id>')
    .description('restore a config version (id, or previous: undo the last change): the file byte for byte and the hardware, all or nothing')
    .option('--dry-run', 'print what it would do; touches nothing')
    .option('--with-actions', 'also perform the actions the version holds (a shutter, a move)')
    .option('--timeout <s>', 'wait this long for instruments to be ready and values confirmed (default 10)')
    .option('--if-rev <n>', 'refuse (conflict) unless the running config is at this revision')
    .action((id: string, o: { dryRun?: boolean; withActions?: boolean; timeout?: string; ifRev?: string }) => {
      const params: Record<string, unknown> = { id };
      if (o.dryRun) params.dryRun = true;
      if (o.withActions) params.withActions = true;
      if (o.timeout !== undefined) {
        const n = Number(o.timeout);
        if (o.timeout.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout takes a positive number of seconds (got "${o.timeout}")`);
        params.timeout_s = n;
      }
      if (o.ifRev !== undefined) {
        const n = Number(o.ifRev);
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--if-rev takes a revision number (got "${o.ifRev}")`);
        params.ifRev = n;
      }
      return ctl.run<{ id: string; dryRun?: boolean; plan: Plan; previous?: string; persisted?: { written: boolean; reason?: string }; revision?: number }>(
        'version.rollback',
        params,
        (r) => {
          const head = r.dryRun ? `would roll back to ${r.id} (dry run: nothing changed)` : `rolled back to ${r.id}${r.revision !== undefined ? ` (revision ${r.revision})` : ''}`;
          const lines = [head, ...rollbackPlan(r.plan).split('\n').map((l) => `  ${l}`)];
          if (!r.dryRun) {
            if (r.persisted) lines.push(r.persisted.written ? 'the config file holds the version byte for byte' : `config file not written: ${r.persisted.reason}`);
            if (r.previous) lines.push(`undo: daqctl rollback previous (or ${r.previous})`);
          }
          return lines.join('\n');
        },
        (): Outcome => ({ exitCode: 0 }),
      );
    });
}
