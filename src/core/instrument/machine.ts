/**
 * One instrument's life: connecting -> ready (polling; sets run through the set queue) -> error
 * (reconnect with capped backoff) -> stopping -> stopped. All I/O is invoked from session.ts;
 * this file only decides when. Events that arrive in a state that cannot act on them are
 * answered, never lost: a set while not ready is refused with `not_ready`, a poll interval change
 * is stored.
 */
import { assign, fromPromise, setup } from 'xstate';
import type { Logger } from 'pino';
import type { ParamValue, ReadingFlag, Readings } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { PortHub } from '../../transport/port-hub.js';
import { DaqError, describeError, isDaqError } from '../../errors.js';
import type { EventBus } from '../events.js';
import { closeSession, openSession, pollSession, type Poll, type Session } from './session.js';
import { SetQueue, type SetJob } from './set-queue.js';
import { FailureLog } from './failure-log.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export type { Reply, SetJob } from './set-queue.js';

export interface InstrumentDeps {
  hub: PortHub;
  events: EventBus;
  log: Logger;
  /** The clock poll timing is measured on (tests pass xstate's SimulatedClock's). */
  now?: () => number;
}

export interface ErrorInfo {
  kind: string;
  message: string;
  at: string;
}

export interface LastReading {
  seq: number;
  ts: string;
  values: Readings;
  units?: Record<string, string>;
  flags?: Record<string, ReadingFlag>;
}

export interface InstrumentContext {
  spec: InstrumentSpec;
  deps: InstrumentDeps;
  session: Session | null;
  seq: number;
  lastReading: LastReading | null;
  lastError: ErrorInfo | null;
  consecutiveFailures: number;
  reconnectAttempt: number;
  lastPollStartedAt: number;
  /**
   * The running config's parameter values for this instrument: what a reconnect restores (its
   * setpoints) and what `params` shows. A box, replaced in place by the supervisor when a set or a
   * reload changes the config without device I/O (the set already sent them): no xstate event on
   * the set path (see set-queue.ts for why). A reconfigure starts a new box from its spec.
   */
  configured: { params: Record<string, ParamValue> };
  /** Repeated failures logged once, then as a count (failure-log.ts). */
  failures: FailureLog;
  /** Open while `ready`: sets go straight to the device from here (see set-queue.ts). */
  sets: SetQueue;
  /** Declared reading units, and the readings that report a settable parameter's device value. */
  readingUnits: Record<string, string>;
  paramReadings: ReadonlySet<string>;
  /** Counters for status: polls that succeeded / failed since spawn. */
  polls: number;
  pollErrors: number;
}

export type InstrumentEvent =
  | { type: 'params.set'; job: SetJob }
  | { type: 'poll.interval'; ms: number }
  | { type: 'reconfigure'; spec: InstrumentSpec }
  | { type: 'stop' };

/** Errors that mean the connection itself is gone: reconnect at once rather than retry the poll. */
const FATAL_KINDS = new Set(['disconnected', 'port_error', 'port_not_found']);
/** Consecutive failed polls (timeouts, garbage, device errors) before a reconnect. */
export const MAX_CONSECUTIVE_FAILURES = 3;
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 5000;

function errorInfo(err: unknown): ErrorInfo {
  return {
    kind: isDaqError(err) ? err.kind : 'internal_error',
    message: describeError(err),
    at: new Date().toISOString(),
  };
}

/** The answer to a set while the instrument is not ready (with the reason, if there was one). */
export function notReady(context: Pick<InstrumentContext, 'spec' | 'lastError'>): DaqError {
  const why = context.lastError ? ` (last error: ${context.lastError.message})` : '';
  return new DaqError('not_ready', `${context.spec.id} is not connected${why}; try again when it is ready`);
}

/** reading name -> declared unit (shared by every reading of this spec: no allocation per poll). */
function declaredUnits(spec: InstrumentSpec): Record<string, string> {
  const units: Record<string, string> = {};
  for (const r of spec.driver.readings(spec.options)) if (r.unit) units[r.name] = r.unit;
  return units;
}

/** Readings named like a settable parameter report the device's value of it (a shutter, a position). */
function paramReadingsOf(spec: InstrumentSpec): ReadonlySet<string> {
  const readings = new Set(spec.driver.readings(spec.options).map((r) => r.name));
  return new Set(spec.driver.params(spec.options).filter((p) => p.settable !== 'never' && readings.has(p.name)).map((p) => p.name));
}

function readingOf(context: InstrumentContext, poll: Poll): LastReading {
  const meta = poll.meta;
  const units = meta?.units ? { ...context.readingUnits, ...meta.units } : context.readingUnits;
  const flags = meta?.flags && Object.keys(meta.flags).length > 0 ? meta.flags : undefined;
  return {
    seq: context.seq + 1,
    ts: new Date().toISOString(),
    values: poll.values,
    ...(Object.keys(units).length > 0 ? { units } : {}),
    ...(flags ? { flags } : {}),
  };
}

function noteParamReadings(context: InstrumentContext, reading: LastReading): void {
  if (context.paramReadings.size === 0) return;
  for (const name of context.paramReadings) {
    const value = reading.values[name];
    if (value !== undefined) context.sets.noteDevice({ [name]: value }, reading.ts);
  }
}

export const instrumentMachine = setup({
  types: {
    context: {} as InstrumentContext,
    events: {} as InstrumentEvent,
    input: {} as { spec: InstrumentSpec; deps: InstrumentDeps },
  },
  actors: {
    connect: fromPromise<Session, { spec: InstrumentSpec; previous: Session | null; deps: InstrumentDeps }>(
      ({ input, signal }) => openSession(input.spec, input.previous, input.deps, signal),
    ),
    poll: fromPromise<Poll, { session: Session }>(({ input }) => pollSession(input.session)),
    close: fromPromise<void, { session: Session | null; deps: InstrumentDeps }>(({ input }) =>
      closeSession(input.session, input.deps.log),
    ),
  },
  delays: {
    pollDelay: ({ context }) =>
      Math.max(0, context.lastPollStartedAt + context.spec.pollIntervalMs - (context.deps.now ?? Date.now)()),
    backoff: ({ context }) =>
      Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, context.reconnectAttempt - 1)),
  },
  guards: {
    connectionLost: ({ event }) => {
      const err = (event as { error?: unknown }).error;
      return isDaqError(err) && FATAL_KINDS.has(err.kind);
    },
    tooManyFailures: ({ context }) => context.consecutiveFailures + 1 >= MAX_CONSECUTIVE_FAILURES,
  },
  actions: {
    openSets: ({ context }) => {
      context.sets.forgetDevice();
      context.sets.noteDevice(context.session!.initial);
      context.sets.open(context.session!);
    },
    closeSets: ({ context }) => context.sets.close(),
    logError: ({ context, event }) => {
      // The logger already carries the instrument id, and most messages start with it too.
      const err = (event as { error?: unknown }).error;
      const message = describeError(err).replace(new RegExp(`^${escapeRegExp(context.spec.id)}: `), '');
      context.failures.failed(isDaqError(err) ? err.kind : 'internal_error', message, isDaqError(err) && err.details ? { details: err.details } : {});
    },
    rejectSetsNotReady: ({ context, event }) => {
      if (event.type === 'params.set') event.job.reply.reject(notReady(context));
    },
  },
}).createMachine({
  id: 'instrument',
  context: ({ input }) => ({
    spec: input.spec,
    deps: input.deps,
    session: null,
    seq: 0,
    lastReading: null,
    lastError: null,
    consecutiveFailures: 0,
    reconnectAttempt: 0,
    lastPollStartedAt: 0,
    sets: new SetQueue(input.spec.id),
    configured: { params: input.spec.params },
    failures: new FailureLog(input.deps.log, input.deps.now),
    readingUnits: declaredUnits(input.spec),
    paramReadings: paramReadingsOf(input.spec),
    polls: 0,
    pollErrors: 0,
  }),
  initial: 'connecting',
  on: {
    stop: { target: '.stopping' },
    reconfigure: {
      target: '.connecting',
      reenter: true,
      actions: assign({
        spec: ({ event }) => event.spec,
        configured: ({ event }) => ({ params: event.spec.params }),
        reconnectAttempt: 0,
        readingUnits: ({ event }) => declaredUnits(event.spec),
        paramReadings: ({ event }) => paramReadingsOf(event.spec),
      }),
    },

    'poll.interval': {
      actions: assign({ spec: ({ context, event }) => ({ ...context.spec, pollIntervalMs: event.ms }) }),
    },
    'params.set': { actions: 'rejectSetsNotReady' },
  },
  states: {
    connecting: {
      always: { guard: ({ context }) => !context.spec.enabled, target: 'disabled' },
      invoke: {
        src: 'connect',
        input: ({ context }) => ({
          spec: context.configured.params === context.spec.params ? context.spec : { ...context.spec, params: context.configured.params },
          previous: context.session,
          deps: context.deps,
        }),
        onDone: {
          target: 'ready',
          actions: [
            assign({
              session: ({ event }) => event.output,
              consecutiveFailures: 0,
              reconnectAttempt: 0,
              lastError: null,
            }),
            ({ context }) => context.failures.recovered('connected'),
          ],
        },
        onError: {
          target: 'error',
          actions: [
            'logError',
            assign({
              session: null,
              lastError: ({ event }) => errorInfo(event.error),
              reconnectAttempt: ({ context }) => context.reconnectAttempt + 1,
            }),
          ],
        },
      },
    },
    ready: {
      entry: 'openSets',
      exit: 'closeSets',
      initial: 'polling',
      on: {
        'params.set': { actions: ({ context, event }) => context.sets.enqueue(event.job) },
      },
      states: {
        polling: {
          entry: assign({ lastPollStartedAt: ({ context }) => (context.deps.now ?? Date.now)() }),
          invoke: {
            src: 'poll',
            input: ({ context }) => ({ session: context.session! }),
            onDone: {
              target: 'waiting',
              actions: [
                assign({
                  seq: ({ context }) => context.seq + 1,
                  polls: ({ context }) => context.polls + 1,
                  consecutiveFailures: 0,
                  lastReading: ({ context, event }) => readingOf(context, event.output),
                }),
                ({ context }) => {
                  const r = context.lastReading!;
                  context.failures.recovered('reading');
                  noteParamReadings(context, r);
                  context.deps.events.emit({
                    type: 'reading',
                    instrument: context.spec.id,
                    seq: r.seq,
                    ts: r.ts,
                    values: r.values,
                    ...(r.units ? { units: r.units } : {}),
                    ...(r.flags ? { flags: r.flags } : {}),
                  });
                },
              ],
            },
            onError: [
              {
                guard: 'connectionLost',
                target: '#instrument.error',
                actions: ['logError', assign({ lastError: ({ event }) => errorInfo(event.error), pollErrors: ({ context }) => context.pollErrors + 1, reconnectAttempt: 1 })],
              },
              {
                guard: 'tooManyFailures',
                target: '#instrument.error',
                actions: ['logError', assign({ lastError: ({ event }) => errorInfo(event.error), pollErrors: ({ context }) => context.pollErrors + 1, reconnectAttempt: 1 })],
              },
              {
                target: 'waiting',
                actions: [
                  'logError',
                  assign({
                    lastError: ({ event }) => errorInfo(event.error),
                    consecutiveFailures: ({ context }) => context.consecutiveFailures + 1,
                    pollErrors: ({ context }) => context.pollErrors + 1,
                  }),
                ],
              },
            ],
          },
        },
        waiting: {
          after: { pollDelay: 'polling' },
          on: {
            // Re-entering recomputes the delay from the last poll's start: a shorter interval
            // takes effect now, a longer one at the next cycle, and there is never a burst.
            'poll.interval': {
              target: 'waiting',
              reenter: true,
              actions: assign({ spec: ({ context, event }) => ({ ...context.spec, pollIntervalMs: event.ms }) }),
            },
          },
        },
      },
    },
    error: {
      after: { backoff: 'connecting' },
    },
    // enabled = false: kept in the config, port released, not polled.
    disabled: {
      invoke: {
        src: 'close',
        input: ({ context }) => ({ session: context.session, deps: context.deps }),
        onDone: { actions: assign({ session: null }) },
        onError: { actions: assign({ session: null }) },
      },
    },
    stopping: {
      invoke: {
        src: 'close',
        input: ({ context }) => ({ session: context.session, deps: context.deps }),
        onDone: { target: 'stopped', actions: assign({ session: null }) },
        onError: { target: 'stopped', actions: ['logError', assign({ session: null })] },
      },
      on: {
        // Already on the way out: ignore further lifecycle events.
        stop: {},
        reconfigure: {},
      },
    },
    stopped: { type: 'final' },
  },
});
