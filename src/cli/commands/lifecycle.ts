/**
 * daqctl enable / disable / restart ID: systemctl-style control of one instrument. enable and
 * restart wait for the connection like add does (spinner on a terminal, Ctrl-C stops waiting),
 * exit 1 when it failed or is still pending at the timeout.
 */
import type { Command } from 'commander';
import type { LifecycleResult } from '../../client/types.js';
import type { Ctl } from '../ctl.js';
import { ANSWER_GRACE_MS, DEFAULT_WAIT_S, noPersist, parseTimeout } from './options.js';

type Verb = 'enable' | 'restart';

async function connectAndWait(ctl: Ctl, verb: Verb, id: string, o: { wait?: boolean; timeout?: string; persist?: boolean }): Promise<void> {
  const wait = o.wait !== false;
  const timeoutS = parseTimeout(o.timeout);
  const [{ addOutcome, connectProblem, formatLifecycle }, { withProgress }] = await Promise.all([import('../views/instrument.js'), import('../progress.js')]);
  const params = { id, ...(verb === 'enable' ? noPersist(o) : {}), ...(wait ? { wait: true, timeoutMs: Math.round(timeoutS * 1000) } : {}) };
  const done = verb === 'enable' ? 'enabled' : 'restarted';
  await ctl.session<LifecycleResult>(
    (client) => {
      const call = client.call<LifecycleResult>(`instrument.${verb}`, params, wait ? { timeoutMs: timeoutS * 1000 + ANSWER_GRACE_MS } : {});
      if (!wait) return call;
      return withProgress(`${verb === 'enable' ? 'enabling' : 'restarting'} ${id}: waiting for the connection`, call, async () => `stopped waiting; ${id} is ${done} and keeps connecting (daqctl get ${id})`);
    },
    (r) => (addOutcome(r, wait) === 'ok' ? formatLifecycle(done, r) : null),
    (r) => {
      const outcome = addOutcome(r, wait);
      const problem = connectProblem(r, outcome, timeoutS);
      return { exitCode: outcome === 'ok' ? 0 : 1, ...(problem ? { stderr: problem } : {}) };
    },
  );
}

export function registerLifecycleCommands(program: Command, ctl: Ctl): void {
  program
    .command('enable <id>')
    .description('enable an instrument (enabled = true): open its port and connect; waits for the connection')
    .option('--no-wait', 'answer at once (state connecting)')
    .option('--timeout <s>', `seconds to wait for the connection (default ${DEFAULT_WAIT_S})`)
    .option('--no-persist', 'do not write enabled = true to the config file')
    .action((id: string, o: { wait?: boolean; timeout?: string; persist?: boolean }) => connectAndWait(ctl, 'enable', id, o));

  program
    .command('disable <id>')
    .description('disable an instrument (enabled = false): it stays configured, its port is closed, it is not polled')
    .option('--no-persist', 'do not write enabled = false to the config file')
    .action(async (id: string, o: { persist?: boolean }) => {
      const { formatLifecycle } = await import('../views/instrument.js');
      await ctl.run<LifecycleResult>('instrument.disable', { id, ...noPersist(o) }, (r) => formatLifecycle('disabled', r));
    });

  program
    .command('restart <id>')
    .description('close the port and connect again with the same settings (setpoints restored); waits for the connection')
    .option('--no-wait', 'answer at once (state connecting)')
    .option('--timeout <s>', `seconds to wait for the connection (default ${DEFAULT_WAIT_S})`)
    .action((id: string, o: { wait?: boolean; timeout?: string }) => connectAndWait(ctl, 'restart', id, o));
}
