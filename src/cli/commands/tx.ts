/**
 * daqctl tx begin|add|rm|set|assign|unassign|show|validate|commit|confirm|discard|list, and
 * daqctl apply FILE.toml [--dry-run]: transactions (issue #18, docs/transactions.md).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { DaqClient } from '../../client/client.js';
import type { Ctl, Outcome } from '../ctl.js';
import { Failure, UsageError } from '../exit.js';
import { collect } from './options.js';

interface Problem {
  op?: number;
  opText?: string;
  kind: string;
  path?: string;
  message: string;
}

interface Plan {
  summary: string;
  start: string[];
  stop: string[];
  reconnect: string[];
  set: Record<string, Record<string, { from?: unknown; to?: unknown }>>;
  send: Record<string, Record<string, unknown>>;
  actions: Record<string, Record<string, unknown>>;
  modules: { added: string[]; removed: string[]; changed: string[] };
}

interface CheckResult {
  ok: boolean;
  problems: Problem[];
  plan?: Plan;
  staged?: { op: number; text: string }[];
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  if (plan.start.length) lines.push(`start:      ${plan.start.join(', ')}`);
  if (plan.stop.length) lines.push(`stop:       ${plan.stop.join(', ')}`);
  if (plan.reconnect.length) lines.push(`reconnect:  ${plan.reconnect.join(', ')}`);
  for (const [id, params] of Object.entries(plan.set)) {
    lines.push(`change:     ${id}: ${Object.entries(params).map(([k, v]) => `${k} ${v.from === undefined ? '(unset)' : show(v.from)} -> ${v.to === undefined ? '(forgotten)' : show(v.to)}`).join(', ')}`);
  }
  for (const [id, values] of Object.entries(plan.send)) {
    lines.push(`send:       ${id}: ${Object.entries(values).map(([k, v]) => `${k}=${show(v)}`).join(' ')}`);
  }
  for (const [id, values] of Object.entries(plan.actions)) {
    lines.push(`action:     ${id}: ${Object.entries(values).map(([k, v]) => `${k}=${show(v)}`).join(' ')} (performed, never written to the file)`);
  }
  const m = plan.modules;
  if (m.added.length) lines.push(`modules +:  ${m.added.join(', ')}`);
  if (m.removed.length) lines.push(`modules -:  ${m.removed.join(', ')}`);
  if (m.changed.length) lines.push(`modules ~:  ${m.changed.join(', ')}`);
  return lines.length ? lines.join('\n') : 'no change';
}

function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `  ${p.op ? `op ${p.op} (${p.opText}): ` : ''}${p.path ? `${p.path}: ` : ''}${p.message} [${p.kind}]`).join('\n');
}

function formatCheck(r: CheckResult): string {
  const out: string[] = [];
  if (r.staged?.length) out.push('staged:', ...r.staged.map((s) => `  ${s.op}. ${s.text}`));
  if (r.plan) out.push('plan:', ...formatPlan(r.plan).split('\n').map((l) => `  ${l}`));
  out.push(r.ok ? 'valid' : `${r.problems.length} problem(s):\n${formatProblems(r.problems)}`);
  return out.join('\n');
}

const checkOutcome = (r: CheckResult): Outcome => (r.ok ? { exitCode: 0 } : { exitCode: 1, stderr: `${r.problems.length} problem(s); nothing was changed` });

function commitParams(o: { timeout?: string; confirmWithin?: string; onTimeout?: string; ifRev?: string }) {
  const num = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} takes a positive number (got "${text}")`);
    return n;
  };
  if (o.onTimeout !== undefined && o.onTimeout !== 'hold' && o.onTimeout !== 'revert') throw new UsageError(`--on-timeout is hold or revert (got "${o.onTimeout}")`);
  const ifRev = o.ifRev === undefined ? undefined : Number(o.ifRev);
  if (ifRev !== undefined && (!Number.isInteger(ifRev) || ifRev < 0)) throw new UsageError(`--if-rev takes a revision number (got "${o.ifRev}")`);
  return {
    ...(o.timeout !== undefined ? { timeout_s: num('--timeout', o.timeout) } : {}),
    ...(o.confirmWithin !== undefined ? { confirm_within_s: num('--confirm-within', o.confirmWithin) } : {}),
    ...(o.onTimeout !== undefined ? { on_timeout: o.onTimeout } : {}),
    ...(ifRev !== undefined ? { ifRev } : {}),
  };
}

function formatCommit(r: { tx: string; plan?: Plan; persisted?: { written: boolean; reason?: string }; pendingConfirm?: { deadline: string; onTimeout: string }; revision?: number }): string {
  const lines = [`committed ${r.tx}${r.revision !== undefined ? ` (revision ${r.revision})` : ''}`];
  if (r.plan) lines.push(...formatPlan(r.plan).split('\n').map((l) => `  ${l}`));
  if (r.pendingConfirm) lines.push(`not in the config file until confirmed: daqctl tx confirm ${r.tx} before ${r.pendingConfirm.deadline} (then: ${r.pendingConfirm.onTimeout})`);
  else if (r.persisted) lines.push(r.persisted.written ? 'written to the config file' : `config file not written: ${r.persisted.reason}`);
  return lines.join('\n');
}

export function registerTxCommands(program: Command, ctl: Ctl): void {
  // An earlier placeholder (commands/planned.ts) may have registered "tx" as planned: this one replaces it.
  const commands = program.commands as Command[];
  const placeholder = commands.findIndex((c) => c.name() === 'tx');
  if (placeholder >= 0) commands.splice(placeholder, 1);

  const tx = program.command('tx').description('transactions: stage several changes, validate them, commit them all or none');

  tx.command('begin')
    .description('begin a transaction (prints its id)')
    .action(() => ctl.run<{ id: string; baseRevision: number; expiresAt: string }>('tx.begin', undefined, (r) => `${r.id}\n(base revision ${r.baseRevision}; expires if idle until ${r.expiresAt})`));

  const staged = (r: { op: number; staged: string }) => `staged op ${r.op}: ${r.staged}`;

  tx.command('add <tx> <id>')
    .description('stage an instrument add: --driver D --port P --param k=v, or --toml FILE')
    .option('--driver <driver>')
    .option('--port <port>')
    .option('--param <k=v>', 'parameter (repeatable)', collect)
    .option('--set <k=v>', 'other key of the table (repeatable)', collect)
    .option('--toml <file>', 'the instrument table as TOML')
    .action(async (txId: string, id: string, o: { driver?: string; port?: string; param?: string[]; set?: string[]; toml?: string }) => {
      if (o.toml) {
        if (o.driver || o.port || o.param?.length || o.set?.length) throw new UsageError('--toml FILE gives the whole table; no other flags with it');
        await ctl.run('tx.stageAdd', { tx: txId, id, toml: readFile(o.toml) }, staged);
        return;
      }
      if (!o.driver || !o.port) throw new UsageError('tx add needs --driver and --port (or --toml FILE)');
      const { literalAssignments } = await import('../convert.js');
      const config: Record<string, unknown> = { driver: o.driver, port: o.port, ...literalAssignments(o.set ?? []) };
      if (o.param?.length) config.params = literalAssignments(o.param);
      await ctl.run('tx.stageAdd', { tx: txId, id, config }, staged);
    });

  tx.command('rm <tx> <id>')
    .alias('remove')
    .description('stage an instrument remove')
    .option('--force', 'remove even if modules use it (they become degraded)')
    .option('--cascade', 'also remove the modules that use it')
    .action((txId: string, id: string, o: { force?: boolean; cascade?: boolean }) =>
      ctl.run('tx.stageRemove', { tx: txId, id, ...(o.force ? { force: true } : {}), ...(o.cascade ? { cascade: true } : {}) }, staged),
    );

  tx.command('set <tx> <id> <assignments...>')
    .description('stage a set: daqctl tx set T laser wavelength_nm=820 (actions are performed at commit, never written to the file)')
    .action(async (txId: string, id: string, words: string[]) => {
      const { convertSetWords, literalAssignments, splitAssignment } = await import('../convert.js');
      words.forEach(splitAssignment);
      await ctl.session(async (client: DaqClient) => {
        // Typed by the declared parameters when the instrument runs; literal otherwise (added in this transaction).
        const view = await client.call<{ parameters?: Parameters<typeof convertSetWords>[2] }>('instrument.get', { id }).catch(() => undefined);
        const params = view ? convertSetWords(id, words, view.parameters) : literalAssignments(words);
        return client.call<{ op: number; staged: string }>('tx.stageSet', { tx: txId, id, params });
      }, staged);
    });

  tx.command('assign <tx> <module> <role> <instrument>')
    .description('stage a module role assignment')
    .action((txId: string, id: string, role: string, instrument: string) => ctl.run('tx.stageAssign', { tx: txId, id, role, instrument }, staged));

  tx.command('unassign <tx> <module> <role>')
    .description('stage a module role unassignment')
    .action((txId: string, id: string, role: string) => ctl.run('tx.stageUnassign', { tx: txId, id, role }, staged));

  tx.command('module-add <tx> <id>')
    .description('stage a module add from --toml FILE')
    .requiredOption('--toml <file>', 'the module table as TOML')
    .action((txId: string, id: string, o: { toml: string }) => ctl.run('tx.stageModuleAdd', { tx: txId, id, toml: readFile(o.toml) }, staged));

  tx.command('module-rm <tx> <id>')
    .description('stage a module remove')
    .action((txId: string, id: string) => ctl.run('tx.stageModuleRemove', { tx: txId, id }, staged));

  tx.command('show <tx>')
    .alias('get')
    .description('the staged operations and what they would change')
    .action((txId: string) =>
      ctl.run<{ id: string; state: string; ops: { n: number; text: string }[]; plan?: Plan; problems?: Problem[]; expiresAt?: string }>('tx.get', { tx: txId }, (r) =>
        [
          `${r.id}: ${r.state}${r.expiresAt ? ` (expires if idle at ${r.expiresAt})` : ''}`,
          ...r.ops.map((o) => `  ${o.n}. ${o.text}`),
          ...(r.plan ? ['would:', ...formatPlan(r.plan).split('\n').map((l) => `  ${l}`)] : []),
          ...(r.problems?.length ? ['problems:', formatProblems(r.problems)] : []),
        ].join('\n'),
      ),
    );

  tx.command('validate <tx>')
    .description('dry run: every problem with the staged op that caused it (touches no device; --probe opens new ports briefly)')
    .option('--probe', 'open each new serial port and close it again')
    .action((txId: string, o: { probe?: boolean }) => ctl.run<CheckResult>('tx.validate', { tx: txId, ...(o.probe ? { probe: true } : {}) }, formatCheck, checkOutcome));

  tx.command('commit <tx>')
    .description('apply all staged changes or none (on failure everything is put back)')
    .option('--timeout <s>', 'wait this long for new instruments to be ready and sets confirmed (default 10)')
    .option('--confirm-within <s>', 'commit confirmed: the file is written only by daqctl tx confirm within this many seconds')
    .option('--on-timeout <hold|revert>', 'with --confirm-within: what happens without a confirmation (default hold)')
    .option('--if-rev <n>', 'refuse (conflict) unless the running config is at this revision')
    .action((txId: string, o: { timeout?: string; confirmWithin?: string; onTimeout?: string; ifRev?: string }) =>
      ctl.run('tx.commit', { tx: txId, ...commitParams(o) }, formatCommit),
    );

  tx.command('confirm [tx]')
    .description('make a pending confirmed commit permanent (writes the config file)')
    .action((txId?: string) => ctl.run<{ tx: string }>('tx.confirm', txId ? { tx: txId } : undefined, (r) => `confirmed ${r.tx}: written to the config file`));

  tx.command('discard <tx>')
    .alias('rollback')
    .description('discard a transaction (a pending confirmed commit is reverted)')
    .action((txId: string) => ctl.run<{ id: string; discarded: number; reverted?: boolean }>('tx.rollback', { tx: txId }, (r) => `${r.reverted ? 'reverted' : 'discarded'} ${r.id} (${r.discarded} staged change(s))`));

  tx.command('list')
    .alias('ls')
    .description('open transactions and the pending confirmed commit')
    .action(() =>
      ctl.run<{ revision: number; transactions: { id: string; state: string; ops: number; expiresAt?: string }[] }>('tx.list', undefined, (r) =>
        r.transactions.length === 0 ? `no open transactions (config revision ${r.revision})` : r.transactions.map((t) => `${t.id}  ${t.state}  ${t.ops} op(s)${t.expiresAt ? `  expires ${t.expiresAt}` : ''}`).join('\n'),
      ),
    );

  program
    .command('apply <file>')
    .description('apply a config file or fragment as one transaction (--dry-run: print the plan, change nothing)')
    .option('--dry-run', 'print what would start, stop, reconnect, change and which actions would happen; touch nothing')
    .option('--whole', 'the file is the whole config: also remove what it does not have')
    .option('--probe', 'with --dry-run: open each new serial port and close it again')
    .option('--timeout <s>', 'wait this long for new instruments to be ready and sets confirmed (default 10)')
    .option('--confirm-within <s>', 'commit confirmed (see tx commit)')
    .option('--on-timeout <hold|revert>', 'with --confirm-within')
    .action(async (file: string, o: { dryRun?: boolean; whole?: boolean; probe?: boolean; timeout?: string; confirmWithin?: string; onTimeout?: string }) => {
      const toml = readFile(file);
      const whole = o.whole === true;
      if (o.dryRun) {
        await ctl.run<CheckResult>('tx.plan', { toml, ...(whole ? { whole } : {}), ...(o.probe ? { probe: true } : {}) }, formatCheck, checkOutcome);
        return;
      }
      const params = commitParams(o);
      await ctl.session(async (client: DaqClient) => {
        const { id } = await client.call<{ id: string }>('tx.begin');
        try {
          await client.call('tx.stageConfig', { tx: id, toml, ...(whole ? { whole } : {}) });
          const check = await client.call<CheckResult>('tx.validate', { tx: id });
          if (!check.ok) {
            await client.call('tx.rollback', { tx: id }).catch(() => {});
            throw new Failure(`${file} does not apply; nothing was changed:\n${formatProblems(check.problems)}`);
          }
          return await client.call<Parameters<typeof formatCommit>[0]>('tx.commit', { tx: id, ...params }, { timeoutMs: ((params.timeout_s ?? 10) + 30) * 1000 });
        } catch (err) {
          await client.call('tx.rollback', { tx: id }).catch(() => {});
          throw err;
        }
      }, formatCommit);
    });
}
