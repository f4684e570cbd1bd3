/**
 * The I/O an instrument actor invokes: open a port lease and bring the device up, poll, set,
 * close. Kept out of the state machine so the machine only decides *when*, never *how*.
 */
import type { Logger } from 'pino';
import type { DriverInstance, ParamValue, Readings } from '../../drivers/types.js';
import type { InstrumentSpec } from '../../config/resolve.js';
import type { PortHub, PortLease } from '../../transport/port-hub.js';
import { DaqError } from '../../errors.js';

export interface Session {
  lease: PortLease;
  driver: DriverInstance;
}

export interface SessionDeps {
  hub: PortHub;
  log: Logger;
}

function driverConfig(spec: InstrumentSpec) {
  return { id: spec.id, params: { ...spec.params }, options: spec.options };
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
    createSimulator: () => spec.driver.createSimulator(driverConfig(spec)),
  });
  const session: Session = {
    lease,
    driver: spec.driver.create({ link: lease.link, config: driverConfig(spec), log: deps.log }),
  };
  try {
    if (signal.aborted) throw new DaqError('not_ready', 'connect cancelled');
    await session.driver.init();
    if (signal.aborted) throw new DaqError('not_ready', 'connect cancelled');
    return session;
  } catch (err) {
    await closeSession(session, deps.log);
    throw err;
  }
}

export async function pollSession(session: Session): Promise<Readings> {
  return session.driver.poll();
}

/** Apply params one by one in the given order; resolves with the values the device confirmed. */
export async function setSessionParams(
  session: Session,
  params: Record<string, ParamValue>,
): Promise<Record<string, ParamValue>> {
  const confirmed: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(params)) {
    confirmed[name] = await session.driver.setParam(name, value);
  }
  return confirmed;
}
