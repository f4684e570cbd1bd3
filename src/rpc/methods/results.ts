/**
 * Result schemas of the socket methods (issue #23): declared once, next to nothing the dispatcher
 * runs (results are never validated at run time), generated into docs/protocol.schema.json and
 * docs/protocol-methods.md, and checked against a real daqd by test/integration/protocol-results.test.ts.
 * Objects are loose: a result may carry more fields than declared (new fields are not a break).
 */
import { z } from 'zod';

export const paramValue = z.union([z.number(), z.boolean(), z.string()]);
const iso = z.string().describe('an ISO 8601 time (UTC)');
const map = (what: string) => z.record(z.string(), z.unknown()).describe(what);

export const persisted = z
  .looseObject({
    written: z.boolean().describe('whether the config file was written'),
    reason: z.string().optional().describe('why it was not written'),
    file: z.string().optional(),
    bytes: z.number().optional(),
    ms: z.number().optional(),
  })
  .describe('what happened to the config file');

const errorInfo = z.looseObject({ kind: z.string(), message: z.string() }).describe('an error: its kind (as in data.kind) and message');

export const lastReading = z
  .looseObject({
    seq: z.number().describe('reading counter'),
    ts: iso,
    values: map('reading name -> value'),
    units: z.record(z.string(), z.string()).optional().describe('reading name -> unit'),
  })
  .describe('the last reading');

export const instrumentView = z
  .looseObject({
    id: z.string(),
    driver: z.string(),
    port: z.string(),
    state: z.string().describe('connecting, ready, error, stopped, disabled, ...'),
    pollIntervalMs: z.number(),
    params: z.record(z.string(), paramValue).describe('the configured values'),
    device: z.record(z.string(), paramValue).describe('what the device last confirmed or reported'),
    deviceAt: iso.nullable(),
    drift: z.record(z.string(), z.looseObject({ configured: paramValue, device: paramValue })).describe('setpoints whose device value differs from the configured one'),
    holds: z.array(z.looseObject({ param: z.string(), value: paramValue, holder: z.string() })).describe('interlock holds on its parameters'),
    busy: z.looseObject({ params: z.array(z.string()), since: iso }).nullable().describe('the operation on the device now (a move)'),
    lastReading: lastReading.nullable(),
    lastError: errorInfo.nullable(),
    polls: z.number(),
    pollErrors: z.number(),
    revision: z.number().optional().describe('config revision of its last change'),
  })
  .describe('an instrument');

export const parameterView = z.looseObject({
  name: z.string(),
  kind: z.enum(['setpoint', 'action']),
  type: z.string().describe('number, integer, boolean, enum, string'),
  unit: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  values: z.array(z.union([z.string(), z.number()])).optional().describe('the allowed values of an enum'),
  readBack: z.boolean(),
  configured: paramValue.optional(),
  device: paramValue.optional(),
  drift: z.boolean(),
});

const connection = {
  state: z.string().optional().describe('with wait: the state it reached (ready, error, ...)'),
  error: errorInfo.optional().describe('with wait: why it failed'),
};

export const instrumentChange = z.looseObject({
  id: z.string(),
  enabled: z.boolean().optional(),
  changed: z.array(z.string()).describe('what changed in the config'),
  persisted,
  revision: z.number().optional().describe('config revision after the change (absent when nothing changed)'),
  ...connection,
});

export const setResult = z.looseObject({
  id: z.string(),
  params: z.record(z.string(), paramValue).describe('the values the device confirmed'),
  changed: z.array(z.string()).describe('setpoints that changed in the config'),
  persisted,
  revision: z.number(),
  ms: z.number().describe('time the set took, in ms'),
});

export const addResult = z.looseObject({
  id: z.string(),
  instrument: instrumentView,
  persisted,
  revision: z.number(),
  ...connection,
});

export const removeResult = z.looseObject({ removed: z.string().describe('the id removed'), persisted, revision: z.number() });
export const abortResult = z.looseObject({
  id: z.string(),
  aborted: z.boolean().describe('whether an operation was in flight and stopped'),
  failed: z.number().describe('queued sets failed with kind aborted'),
  state: z.string(),
});
export const restartResult = z.looseObject({ id: z.string(), restarted: z.boolean(), ...connection });

export const moduleView = z
  .looseObject({
    id: z.string(),
    type: z.string().describe('interlock, monitor, derived, ...'),
    state: z.string(),
    roles: z.record(z.string(), z.string()).describe('role -> instrument'),
    declaredRoles: z.array(z.looseObject({ name: z.string(), required: z.boolean(), description: z.string().optional(), assigned: z.string().nullable().optional() })),
    status: map('the module type\'s own status (an interlock\'s tripped, a monitor\'s alarm, ...)'),
    revision: z.number().optional(),
  })
  .describe('a module');

export const moduleStatusResult = z.looseObject({
  module: z.string(),
  changed: z.array(z.string()).optional(),
  state: z.string().optional(),
  status: map('the module status after the change'),
  persisted: persisted.optional(),
  revision: z.number().optional(),
});

const idDiff = z.looseObject({ added: z.array(z.string()), removed: z.array(z.string()), changed: map('id -> what changed') });
export const reloadStatus = z.looseObject({
  outcome: z.string().describe('applied, unchanged, failed, refused, ...'),
  source: z.string().describe('startup, file, socket, ...'),
  at: iso,
  durationMs: z.number().optional(),
  summary: z.string().optional(),
  diff: z.looseObject({ instruments: idDiff, modules: idDiff, application: z.array(z.string()) }).optional(),
  errors: z.array(z.unknown()).optional(),
  revision: z.number().optional(),
});

export const syncResult = z.looseObject({ file: z.string(), written: z.boolean(), bytes: z.number().optional(), ms: z.number().optional() });

export const serialDefaults = z.looseObject({ baudRate: z.number(), dataBits: z.number(), parity: z.string(), stopBits: z.number(), flowControl: z.string() });
export const driverSummary = z.looseObject({ name: z.string(), description: z.string(), multidrop: z.boolean(), serial: serialDefaults });
export const driverDetail = driverSummary.extend({
  parameters: z.array(
    z.looseObject({
      name: z.string(),
      kind: z.enum(['setpoint', 'action']),
      type: z.string(),
      description: z.string().optional(),
      unit: z.string().optional(),
      min: z.number().optional(),
      max: z.number().optional(),
      values: z.array(z.union([z.string(), z.number()])).optional(),
      settable: z.string().optional().describe('when it can be set (running, ...)'),
      readBack: z.boolean(),
    }),
  ),
  readings: z.array(z.looseObject({ name: z.string(), type: z.string(), description: z.string().optional(), unit: z.string().optional() })),
  fromConfig: z.string().optional().describe('for config-defined drivers: where parameters and readings come from'),
});

export const portEntry = z.looseObject({
  path: z.string(),
  byId: z.string().optional().describe('/dev/serial/by-id name'),
  exists: z.boolean().optional(),
  kind: z.string().optional().describe('"tcp" for tcp://host:port ports'),
  usedBy: z.array(z.string()).describe('instruments configured on it'),
});

export const plan = z
  .looseObject({
    summary: z.string(),
    start: z.array(z.string()),
    stop: z.array(z.string()),
    reconnect: z.array(z.string()),
    set: map('instrument -> param -> {from, to}'),
    send: map('instrument -> param -> value sent'),
    actions: map('instrument -> action -> value'),
    modules: z.looseObject({ added: z.array(z.string()), removed: z.array(z.string()), changed: z.array(z.string()) }),
    changes: z.array(z.looseObject({ path: z.string(), kind: z.string() })),
  })
  .describe('what applying the change does');

export const commitResult = z.looseObject({
  tx: z.string().optional(),
  committed: z.boolean().optional(),
  plan,
  steps: z.array(z.string()).describe('the steps performed, in order'),
  confirmed: map('instrument -> param -> value the device confirmed'),
  persisted: persisted.optional(),
  checkpointMs: z.number().optional(),
  revision: z.number(),
  ms: z.number(),
});

export const versionEntry = z.looseObject({
  id: z.string(),
  time: iso,
  label: z.string().optional(),
  revision: z.number().optional(),
  cause: z.string().optional(),
  summary: z.string().optional(),
  origin: z.string().optional(),
  auto: z.boolean().optional(),
  hash: z.string().optional().describe('sha256 of the file'),
  bytes: z.number().optional(),
  problems: z.array(z.string()).optional().describe('why a corrupt or hand-edited one is suspect'),
});

export const historyEntry = z.looseObject({
  id: z.string().describe('change id (history.revert, history.list before)'),
  time: iso,
  revision: z.number().optional(),
  instrument: z.string(),
  param: z.string(),
  old: paramValue.optional().describe('absent when daqd did not know the value before'),
  new: paramValue,
  source: z.string(),
  sourceId: z.string().optional(),
  kind: z.enum(['setpoint', 'action']),
});

export const scheduleView = z.looseObject({
  id: z.string(),
  type: z.enum(['at', 'ramp', 'every', 'when']),
  instrument: z.string(),
  param: z.string(),
  state: z.string(),
  owner: z.string(),
  nextDue: iso.optional(),
  lastValue: paramValue.optional(),
  lastRunAt: iso.optional(),
  lastError: z.unknown().optional(),
  fires: z.number(),
  errors: z.number(),
  note: z.string().optional(),
  spec: map('the schedule\'s fields, as in [schedules.<id>]'),
});

export const daemonStatus = z.looseObject({
  version: z.string().describe('daqd version'),
  pid: z.number(),
  uptimeS: z.number(),
  configPath: z.string(),
  stateDir: z.string(),
  revision: z.number().describe('config revision'),
  instruments: z.looseObject({ total: z.number() }).describe('total and a count per state'),
  modules: z.looseObject({ total: z.number() }).describe('total and a count per state'),
  queue: z.looseObject({ pending: z.number(), completed: z.number() }),
  persistence: z.looseObject({ enabled: z.boolean(), upToDate: z.boolean() }),
  lastReload: reloadStatus.nullable().optional(),
  safeMode: z.looseObject({ active: z.boolean(), held: z.array(z.unknown()) }),
  overrides: z.array(z.unknown()),
  trouble: z
    .looseObject({
      interlocks: z.array(z.unknown()),
      alarms: z.array(z.unknown()),
      degradedModules: z.array(z.unknown()),
      instrumentsInError: z.array(z.unknown()),
      drift: z.array(z.unknown()),
    })
    .describe('what needs a person: tripped interlocks, alarms, degraded modules, instruments in error, drift, config file trouble'),
  ports: z.array(z.looseObject({ port: z.string(), instruments: z.array(z.string()), open: z.boolean() })),
  http: z.looseObject({ enabled: z.boolean(), url: z.string().optional() }).optional(),
  mqtt: z.looseObject({ enabled: z.boolean() }).optional(),
  versions: z.looseObject({ enabled: z.boolean() }).optional(),
  clients: z
    .looseObject({ connections: z.number(), subscribers: z.number(), stalledClients: z.number(), queuedEvents: z.number(), droppedEvents: z.number() })
    .describe('socket clients'),
});

export const txBegin = z.looseObject({ id: z.string().describe('the transaction id (tx in the other tx.* calls)'), baseRevision: z.number(), expiresAt: iso });

export const versionCreate = versionEntry.extend({ created: z.boolean().describe('false: unchanged since the newest snapshot, which is returned'), note: z.string().optional() });
export const versionList = z.looseObject({ dir: z.string(), enabled: z.boolean(), retention: z.number(), revision: z.number(), versions: z.array(versionEntry).describe('newest first') });
export const versionDiff = z.looseObject({
  a: z.string(),
  b: z.string(),
  identical: z.boolean(),
  added: z.number().describe('lines added'),
  removed: z.number().describe('lines removed'),
  diff: z.string().describe('unified diff'),
});
export const versionRollback = z.looseObject({
  id: z.string(),
  dryRun: z.boolean().optional(),
  rolledBack: z.boolean().optional(),
  version: versionEntry,
  previous: z.string().optional().describe('the snapshot taken of the file before the rollback'),
  plan: plan,
  steps: z.array(z.string()).optional(),
  confirmed: map('instrument -> param -> value the device confirmed').optional(),
  persisted: persisted.optional(),
  revision: z.number(),
  ms: z.number().optional(),
});
