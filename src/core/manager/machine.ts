/**
 * The manager actor: owns the running config and one child actor per instrument, and runs
 * commands one at a time in arrival order. Commands wait in `context.queue` (not in xstate's
 * mailbox: a machine drops events its current state does not handle, so a busy state must never
 * be the only thing holding a command).
 */
import { assign, enqueueActions, fromPromise, setup, stopChild } from 'xstate';
import type { ConfigModel } from '../../config/model.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { Command, CommandResult } from '../commands.js';
import { instrumentMachine, type InstrumentDeps, type Reply } from '../instrument/machine.js';

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
  | { type: 'instrument.spawn'; spec: InstrumentSpec; deps: InstrumentDeps }
  | { type: 'instrument.release'; id: string };

export interface ManagerInput {
  config: ConfigModel;
}

/** Runs one job against the current config; supplied by the daemon (handlers live outside the machine). */
export type ExecuteJob = (job: Job, config: ConfigModel) => Promise<JobOutcome>;

export const instrumentSystemId = (id: string) => `instrument:${id}`;

export function createManagerMachine(execute: ExecuteJob) {
  return setup({
    types: {
      context: {} as ManagerContext,
      events: {} as ManagerEvent,
      input: {} as ManagerInput,
    },
    actors: {
      instrument: instrumentMachine,
      execute: fromPromise<JobOutcome, { job: Job; config: ConfigModel }>(async ({ input }) => {
        // The promise actor starts while the manager is still processing the event that started
        // it; a handler that spawns a child synchronously would have its spawn event deferred.
        // Yield once so every command runs after the manager's transition is complete.
        await Promise.resolve();
        return execute(input.job, input.config);
      }),
    },
    guards: {
      hasQueued: ({ context }) => context.queue.length > 0,
    },
  }).createMachine({
    id: 'manager',
    context: ({ input }) => ({ config: input.config, queue: [], completed: 0 }),
    on: {
      // Accepted in every state: arrival order is the queue's order.
      'command.submit': { actions: assign({ queue: ({ context, event }) => [...context.queue, event.job] }) },
      'instrument.spawn': {
        actions: enqueueActions(({ enqueue, event }) => {
          enqueue.spawnChild('instrument', {
            id: event.spec.id,
            systemId: instrumentSystemId(event.spec.id),
            input: { spec: event.spec, deps: event.deps },
          });
        }),
      },
      'instrument.release': { actions: stopChild(({ event }) => event.id) },
    },
    initial: 'idle',
    states: {
      idle: {
        always: { guard: 'hasQueued', target: 'executing' },
      },
      executing: {
        invoke: {
          src: 'execute',
          input: ({ context }) => ({ job: context.queue[0]!, config: context.config }),
          onDone: {
            target: 'idle',
            // Reply first: the assign below shifts the queue.
            actions: [
              ({ context, event }) => {
                const { result, error } = event.output;
                if (error !== undefined) context.queue[0]?.reply.reject(error);
                else context.queue[0]?.reply.resolve(result ?? {});
              },
              assign({
                config: ({ context, event }) => event.output.config ?? context.config,
                queue: ({ context }) => context.queue.slice(1),
                completed: ({ context }) => context.completed + 1,
              }),
            ],
          },
          onError: {
            target: 'idle',
            actions: [
              ({ context, event }) => context.queue[0]?.reply.reject(event.error),
              assign({
                queue: ({ context }) => context.queue.slice(1),
                completed: ({ context }) => context.completed + 1,
              }),
            ],
          },
        },
      },
    },
  });
}
