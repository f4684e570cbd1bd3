/**
 * One instrument's life: connecting -> ready (polling; sets run through the set queue) -> error
 * (reconnect with capped backoff) -> stopping -> stopped. This file only decides when: connect
 * and close I/O is in session.ts, and steady-state polling is a plain loop (poll-loop.ts) that
 * runs while the machine is `ready` and hands back to it when the connection fails. Events that arrive in a state that cannot act on them are
 * answered, never lost: a set while not ready is refused with `not_ready`, a poll interval change
 * is stored.
 */
import { assign, fromCallback, fromPromise, sendTo, setup } from 'xstate';
import type { Logger } from 'pino';
import type { ParamValue } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { PortHub } from '../../transport/port-hub.js';
import { DaqError } from '../../errors.js';
import type { EventBus } from '../events.js';
import { closeSession, openSession, type Session } from './session.js';
import { SetQueue, type SetJob } from './set-queue.js';
import { FailureLog } from './failure-log.js';
import { PollLoop, errorInfo, logFailure, newCounters, realTimers, type PollCounters, type ReadingEvent, type TimerClock } from './poll-loop.js';

export type { Reply, SetJob } from './set-queue.js';
export { MAX_CONSECUTIVE_FAILURES, type ErrorInfo, type PollCounters } from './poll-loop.js';

export interface InstrumentDeps {
  hub: PortHub;
  events: EventBus;
  log: Logger;
  /** The clock poll timing is measured on (tests pass xstate's SimulatedClock's). */
  now?: () => number;
  /** The timers the poll loop waits on (tests pass the same SimulatedClock). */
  timers?: TimerClock;
}

/** What `lastReading` shows: the reading event without its routing fields. */
export type LastReading = Omit<ReadingEvent, 'type' | 'instrument'>;

export interface InstrumentContext {
  spec: InstrumentSpec;
  deps: InstrumentDeps;
  session: Session | null;
  reconnectAttempt: number;
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
  /** Sequence, last reading, last error and counts: written in place by the poll loop (poll-loop.ts). */
  counters: PollCounters;
}

export type InstrumentEvent =
  | { type: 'params.set'; job: SetJob }
  | { type: 'poll.interval'; ms: number }
  | { type: 'reconfigure'; spec: InstrumentSpec }
  | { type: 'stop' }
  /** From the poll loop: the connection is gone, or polls kept failing. */
  | { type: 'poll.lost'; error: unknown };

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 5000;

/** The answer to a set while the instrument is not ready (with the reason, if there was one). */
export function notReady(context: Pick<InstrumentContext, 'spec' | 'counters'>): DaqError {
  const last = context.counters.lastError;
  const why = last ? ` (last error: ${last.message})` : '';
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

/** The ready state's poll loop, as a callback actor: stopped when the machine leaves `ready`. */
const poller = fromCallback<InstrumentEvent, { context: InstrumentContext }>(({ input, sendBack, receive }) => {
  const c = input.context;
  const loop = new PollLoop({
    instrumentId: c.spec.id,
    driver: c.session!.driver,
    intervalMs: c.spec.pollIntervalMs,
    counters: c.counters,
    events: c.deps.events,
    failures: c.failures,
    readingUnits: c.readingUnits,
    paramReadings: c.paramReadings,
    noteDevice: (name, value, at) => c.sets.noteDeviceValue(name, value, at),
    onLost: (error) => sendBack({ type: 'poll.lost', error }),
    now: c.deps.now ?? Date.now,
    timers: c.deps.timers ?? realTimers,
  });
  receive((event) => {
    if (event.type === 'poll.interval') loop.setInterval(event.ms);
  });
  loop.start();
  return () => loop.stop();
});

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
    poller,
    close: fromPromise<void, { session: Session | null; deps: InstrumentDeps }>(({ input }) =>
      closeSession(input.session, input.deps.log),
    ),
  },
  delays: {
    backoff: ({ context }) =>
      Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, context.reconnectAttempt - 1)),
  },
  actions: {
    openSets: ({ context }) => {
      context.sets.forgetDevice();
      context.sets.noteDevice(context.session!.initial);
      context.sets.open(context.session!);
    },
    closeSets: ({ context }) => context.sets.close(),
    logError: ({ context, event }) => logFailure(context.failures, context.spec.id, (event as { error?: unknown }).error),
    /** The counters are a shared box (poll-loop.ts): written in place, like the poll loop does. */
    noteError: ({ context, event }) => {
      context.counters.lastError = errorInfo((event as { error?: unknown }).error);
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
    reconnectAttempt: 0,
    sets: new SetQueue(input.spec.id),
    configured: { params: input.spec.params },
    failures: new FailureLog(input.deps.log, input.deps.now),
    readingUnits: declaredUnits(input.spec),
    paramReadings: paramReadingsOf(input.spec),
    counters: newCounters(),
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
            assign({ session: ({ event }) => event.output, reconnectAttempt: 0 }),
            ({ context }) => {
              context.counters.consecutiveFailures = 0;
              context.counters.lastError = null;
              context.failures.recovered('connected');
            },
          ],
        },
        onError: {
          target: 'error',
          actions: ['logError', 'noteError', assign({ session: null, reconnectAttempt: ({ context }) => context.reconnectAttempt + 1 })],
        },
      },
    },
    // Polling runs in the poll loop (poll-loop.ts) until the machine leaves this state; the loop
    // reports back only when the connection is lost or polls keep failing.
    ready: {
      entry: 'openSets',
      exit: 'closeSets',
      invoke: { id: 'poller', src: 'poller', input: ({ context }) => ({ context }) },
      on: {
        'params.set': { actions: ({ context, event }) => context.sets.enqueue(event.job) },
        'poll.interval': {
          actions: [assign({ spec: ({ context, event }) => ({ ...context.spec, pollIntervalMs: event.ms }) }), sendTo('poller', ({ event }) => event)],
        },
        // The loop has already counted the failure and noted the error.
        'poll.lost': { target: 'error', actions: ['logError', assign({ reconnectAttempt: 1 })] },
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
