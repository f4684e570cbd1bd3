/**
 * The I/O an instrument actor invokes: open a port lease and bring the device up, set, close
 * (polling is poll-loop.ts). Kept out of the state machine so the machine only decides *when*, never *how*.
 */
import type { Logger } from 'pino';
import type { DriverInstance, ParamValue } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { PortHub, PortLease } from '../../transport/port-hub.js';
import { DaqError } from '../../errors.js';

export interface Session {
  lease: PortLease;
  driver: DriverInstance;
  /** What the device reported for its readable parameters right after connecting. */
  initial: Record<string, ParamValue>;
}

export interface SessionDeps {
  hub: PortHub;
  log: Logger;
}

/**
 * The driver sees only the setpoints of the config: init() restores those. Actions (shutter,
 * emission, motion targets) are never performed at start-up or on a reconnect (issue #15); they
 * happen only when someone asks while daqd runs.
 */
function driverConfig(spec: InstrumentSpec) {
  const params: Record<string, ParamValue> = {};
  for (const decl of spec.driver.params(spec.options)) {
    if (decl.kind === 'setpoint' && Object.hasOwn(spec.params, decl.name)) params[decl.name] = spec.params[decl.name]!;
  }
  return { id: spec.id, params, options: spec.options };
}

/** The parameters the device can report (read back after connecting, shown as device values). */
export function readableParams(spec: InstrumentSpec): string[] {
  return spec.driver.params(spec.options).filter((d) => d.readBack && d.settable !== 'never').map((d) => d.name);
}

export async function closeSession(session: Session | null, log?: Logger): Promise<void> {
  if (!session) return;
  try {
    await session.driver.close?.();
  } catch (err) {
    log?.debug({ err }, 'driver close failed (ignored: the port is released anyway)');
  }
  await session.lease.release();
}

/**
 * Release any previous session, acquire the port and initialise the device with the configured
 * params. If the caller is cancelled (signal) meanwhile, the fresh lease is released again so a
 * superseded connect never leaves a port open.
 */
export async function openSession(
  spec: InstrumentSpec,
  previous: Session | null,
  deps: SessionDeps,
  signal: AbortSignal,
): Promise<Session> {
  await closeSession(previous, deps.log);
  if (!spec.enabled) throw new DaqError('not_ready', `${spec.id} is disabled in the config (enabled = false)`);
  const lease = await deps.hub.acquire({
    instrumentId: spec.id,
    port: spec.port,
    serial: spec.serial,
    multidrop: spec.driver.multidrop,
    busAddress: spec.driver.busAddress?.(spec.options),
    timeoutMs: spec.timeoutMs,
    createSimulator: () => {
      const simulator = spec.driver.createSimulator(driverConfig(spec));
      simulator.keepReceived?.(0); // nobody reads the command log of the daemon's own `sim` devices
      return simulator;
    },
  });
  const session: Session = {
    lease,
    driver: spec.driver.create({ link: lease.link, config: driverConfig(spec), log: deps.log }),
    initial: {},
  };
  try {
    if (signal.aborted) throw new DaqError('not_ready', 'connect cancelled');
    await session.driver.init();
    if (signal.aborted) throw new DaqError('not_ready', 'connect cancelled');
    session.initial = await readInitial(session, spec, deps.log);
    if (signal.aborted) throw new DaqError('not_ready', 'connect cancelled');
    return session;
  } catch (err) {
    await closeSession(session, deps.log);
    throw err;
  }
}

/**
 * The device's values after connecting, for drift and undo. A device that cannot report them is
 * not an error here (the connection works): the values stay unknown and status says so.
 */
async function readInitial(session: Session, spec: InstrumentSpec, log: SessionDeps['log']): Promise<Record<string, ParamValue>> {
  const names = readableParams(spec);
  if (names.length === 0 || !session.driver.readParams) return {};
  try {
    return await session.driver.readParams(names);
  } catch (err) {
    log.debug({ err }, 'could not read the parameters back after connecting');
    return {};
  }
}

/**
 * Apply params one by one in the given order; resolves with the values the device confirmed.
 * `progress` is told each confirmed value at once (a later one may fail: the earlier ones are on
 * the device all the same).
 */
export async function setSessionParams(
  session: Session,
  params: Record<string, ParamValue>,
  signal?: AbortSignal,
  progress?: (confirmed: Record<string, ParamValue>) => void,
): Promise<Record<string, ParamValue>> {
  const confirmed: Record<string, ParamValue> = {};
  for (const name of Object.keys(params)) {
    try {
      if (signal?.aborted) throw signal.reason instanceof DaqError ? signal.reason : new DaqError('aborted', `set of ${name} aborted`);
      const value = await session.driver.setParam(name, params[name]!, signal);
      confirmed[name] = value;
      progress?.({ [name]: value });
    } catch (err) {
      if (Object.keys(confirmed).length > 0 && err !== null && typeof err === 'object') partialSets.set(err, confirmed);
      throw err;
    }
  }
  return confirmed;
}

/** Values a multi-parameter set had already confirmed when it failed, by its error. */
const partialSets = new WeakMap<object, Record<string, ParamValue>>();

/** What a failed set had already put on the device before it failed (empty if nothing). */
export function confirmedBeforeFailure(err: unknown): Record<string, ParamValue> {
  return (err !== null && typeof err === 'object' && partialSets.get(err)) || {};
}

/** Read the named parameters back from the device (those it can report). */
export async function readSessionParams(session: Session, names: readonly string[]): Promise<Record<string, ParamValue>> {
  if (!session.driver.readParams || names.length === 0) return {};
  return session.driver.readParams(names);
}
