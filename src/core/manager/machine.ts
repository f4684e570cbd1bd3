/**
 * The manager actor: owns the running config and runs commands one at a time in arrival order
 * (the instrument actors are the supervisor's, see supervisor.ts). Commands wait in
 * `context.queue` (not in xstate's mailbox: a machine drops events its current state does not handle, so a busy state must never
 * be the only thing holding a command).
 */
import { assign, setup } from 'xstate';
import type { ConfigModel } from '../../config/model.js';
import type { Command, CommandResult } from '../commands.js';
import type { Reply } from '../instrument/machine.js';

export interface Job {
  command: Command;
  /** Who sent it: "socket", "watcher", "signal", "module:<id>"... (audit log). */
  origin: string;
  reply: Reply<CommandResult>;
  enqueuedAt: number;
}

/**
 * What executing one job produced: the result or error for the client and, if the running config
 * changed, the new config. A failed command can still have changed the config (a person's edit
 * reloaded before the command was refused), so failure is a value here, not a rejection.
 */
export interface JobOutcome {
  result?: CommandResult;
  error?: unknown;
  config?: ConfigModel;
}

export interface ManagerContext {
  config: ConfigModel;
  queue: Job[];
  /** Jobs finished since start (for status). */
  completed: number;
}

export type ManagerEvent =
  | { type: 'command.submit'; job: Job }
  | { type: 'job.finished'; job: Job; outcome: JobOutcome }
  | { type: 'job.crashed'; job: Job; error: unknown };

export interface ManagerInput {
  config: ConfigModel;
}

/** Runs one job against the current config; supplied by the daemon (handlers live outside the machine). */
export type ExecuteJob = (job: Job, config: ConfigModel) => Promise<JobOutcome>;

export function createManagerMachine(execute: ExecuteJob) {
  return setup({
    types: {
      context: {} as ManagerContext,
      events: {} as ManagerEvent,
      input: {} as ManagerInput,
    },
    actions: {
      /**
       * Runs the job at the head of the queue, if none is running, and reports back with an
       * event. "Running" is simply "at the head of the queue": no states, no eventless
       * transitions and no invoked promise actor per command. Each of those costs an xstate
       * microstep (tens of microseconds, kilobytes of garbage) on the latency-critical path
       * (bench/set-path.bench.ts).
       */
      startNext: ({ context, self }, params: { onSubmit: boolean }) => {
        // On submit, only a job arriving at an empty queue starts now; after a finished job, the next one.
        if (params.onSubmit ? context.queue.length !== 1 : context.queue.length === 0) return;
        const job = context.queue[0]!;
        const config = context.config;
        // The job runs after the manager's transition is complete (a handler that spawns a
        // child synchronously would otherwise have its spawn event deferred).
        Promise.resolve()
          .then(() => execute(job, config))
          .then(
            (outcome) => self.send({ type: 'job.finished', job, outcome }),
            (error: unknown) => self.send({ type: 'job.crashed', job, error }),
          );
      },
    },
    guards: {
      isCurrentJob: ({ context, event }) => 'job' in event && context.queue[0] === event.job,
    },
  }).createMachine({
    id: 'manager',
    context: ({ input }) => ({ config: input.config, queue: [], completed: 0 }),
    on: {
      // Arrival order is the queue's order; the head of the queue is the job running.
      'command.submit': {
        actions: [assign({ queue: ({ context, event }) => [...context.queue, event.job] }), { type: 'startNext', params: { onSubmit: true } }],
      },
      'job.finished': {
        guard: 'isCurrentJob',
        actions: [
          ({ event }) => {
            const { result, error } = event.outcome;
            if (error !== undefined) event.job.reply.reject(error);
            else event.job.reply.resolve(result ?? {});
          },
          assign({
            config: ({ context, event }) => event.outcome.config ?? context.config,
            queue: ({ context }) => context.queue.slice(1),
            completed: ({ context }) => context.completed + 1,
          }),
          { type: 'startNext', params: { onSubmit: false } },
        ],
      },
      'job.crashed': {
        guard: 'isCurrentJob',
        actions: [
          ({ event }) => event.job.reply.reject(event.error),
          assign({
            queue: ({ context }) => context.queue.slice(1),
            completed: ({ context }) => context.completed + 1,
          }),
          { type: 'startNext', params: { onSubmit: false } },
        ],
      },
    },
  });
}
