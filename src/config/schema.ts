/**
 * The one schema for config/default.toml. The TypeScript types and the generated JSON Schema
 * (config/daqd.schema.json) both come from here. Driver- and module-specific keys are checked in
 * a second pass (validate.ts) against each driver's and module type's own declarations.
 */
import { z } from 'zod';
import { scheduleSpecSchema } from '../services/scheduler/spec.js';

/** The id rule, for messages: every refusal of an id names it whole. */
export const ID_RULE = 'ids are 1 to 64 letters, digits, "_" or "-", and never a built-in name of JavaScript objects (constructor, toString, __proto__, ...)';
export const ID_MAX_LENGTH = 64;
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Names every plain JavaScript object already answers to (`constructor`, `toString`,
 * `hasOwnProperty`, `__proto__`, `__defineGetter__`, ...). An id spelled like one of them is
 * confused with the built-in wherever an id meets a plain object (`obj[id]`, `id in obj`, an
 * assignment to `obj["__proto__"]`), so ids never take them. Computed from the runtime rather than
 * listed, so a Node version that adds a member is covered too.
 */
export const RESERVED_ID_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Why `id` is not a valid id, or undefined when it is (for checks outside zod, e.g. own keys zod skips). */
export function idProblem(id: string): string | undefined {
  if (id.length === 0) return `the id is empty: ${ID_RULE}`;
  if (id.length > ID_MAX_LENGTH) return `the id is ${id.length} characters long: ${ID_RULE}`;
  if (!ID_PATTERN.test(id)) {
    const bad = /[^A-Za-z0-9_-]/u.exec(id)![0];
    return `the id contains ${JSON.stringify(bad)}: ${ID_RULE}`;
  }
  if (RESERVED_ID_NAMES.has(id)) return `"${id}" is a built-in name of JavaScript objects and cannot be an id: ${ID_RULE}`;
  return undefined;
}

// Two checks rather than one: the pattern also goes into the generated JSON Schema (editors check
// it as you type); the reserved names are a refinement JSON Schema users get from daqd's message.
// Note: zod records skip an own "__proto__" key without running the key schema, so code that
// validates a table's keys must also call idProblem on Object.keys (see validate.ts).
export const idSchema = z
  .string()
  .regex(ID_PATTERN, { error: (issue) => idProblem(String(issue.input)) ?? ID_RULE })
  .refine((id) => !RESERVED_ID_NAMES.has(id), { error: (issue) => idProblem(String(issue.input)) ?? ID_RULE });

const paramValue = z.union([z.number(), z.boolean(), z.string()]);

export const dynamicConfigSchema = z
  .object({
    enable_persistence: z.boolean().default(true).describe('Write every change back to the config file.'),
    enable_hot_reload: z.boolean().default(true).describe('Watch the config file and apply edits.'),
    enable_transactions: z.boolean().default(true).describe('Accept tx.* (staged, validated, all-or-nothing changes).'),
    transaction_timeout_s: z.number().int().min(1).max(604_800).default(300)
      .describe('An open transaction nobody touched for this long expires (tx.* answers expired).'),
    enable_versioning: z.boolean().default(true),
    snapshot_retention: z.number().int().min(1).default(10),
    hot_reload_debounce_ms: z.number().int().min(0).max(60_000).default(500)
      .describe('Quiet time after the last file change before a reload.'),
  })
  .strict();

/** `[application.socket]`: who may use the command socket. Read at start (a change needs a restart). */
export const socketSchema = z
  .object({
    mode: z
      .union([z.string().regex(/^0?[0-7]{3}$/, { error: 'give the mode as an octal string, e.g. "0660"' }), z.number().int().min(0).max(0o777)])
      .refine((m) => ((typeof m === 'number' ? m : parseInt(m, 8)) & 0o007) === 0, { error: 'the socket must not be usable by others (no o+rwx): anyone who can connect controls the lab' })
      .refine((m) => ((typeof m === 'number' ? m : parseInt(m, 8)) & 0o600) === 0o600, { error: 'the socket must be readable and writable by its owner (u+rw)' })
      .optional()
      .describe('File mode of the command socket, e.g. "0660" (the default: owner and group). An octal string, or a TOML octal integer (0o660).'),
    group: z
      .union([z.string().min(1), z.number().int().min(0)])
      .optional()
      .describe("Group of the command socket (name or gid): its members may use daqctl. Default: daqd's own group."),
  })
  .strict();

/** `[application.storage]`: the recorder (docs/recording.md). On by default. */
export const storageSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Record every reading to CSV files and every change to the events file.'),
    dir: z.string().min(1).optional().describe('Data directory (default <state dir>/data); relative paths are the config file\'s.'),
    flush_ms: z.number().int().min(10).max(1000).default(1000).describe('Write, flush and fdatasync at least this often (ms; at most 1000).'),
    keep_days: z.number().int().min(1).optional().describe('Delete day files older than this many days.'),
    max_gb: z.number().positive().optional().describe('Delete the oldest day files while the data dir holds more than this (GB).'),
    buffer_rows: z.number().int().min(100).max(10_000_000).default(200_000)
      .describe('Rows kept in memory while the disk refuses writes; older rows beyond it are dropped (counted).'),
  })
  .strict();

/** `[application.mqtt]`: publish readings to an existing broker (docs/mqtt.md). Off by default. */
export const mqttSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Connect to the broker and publish.'),
    url: z.string().min(1).default('mqtt://127.0.0.1:1883').describe('Broker URL: mqtt://, mqtts://, ws://, wss://.'),
    host: z.string().regex(/^[^/#+]+$/, { error: 'no "/", "#" or "+" in a topic level' }).optional().describe('The <host> topic level (default: the machine\'s host name).'),
    base_topic: z.string().regex(/^[^#+]+$/).default('daqd').describe('First topic level(s).'),
    client_id: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    password_file: z.string().optional().describe('Read the password from this file (first line).'),
    ca_file: z.string().optional().describe('TLS: CA certificate (PEM) to trust.'),
    cert_file: z.string().optional().describe('TLS client certificate (PEM).'),
    key_file: z.string().optional().describe('TLS client key (PEM).'),
    reject_unauthorized: z.boolean().default(true).describe('TLS: refuse a broker whose certificate does not verify.'),
    qos: z.union([z.literal(0), z.literal(1)]).default(0).describe('QoS of readings (state, status and discovery use 1).'),
    bare_values: z.boolean().default(false).describe('Also publish one bare number per reading on <instrument>/<reading>.'),
    discovery: z.boolean().default(true).describe('Publish Home Assistant device discovery.'),
    discovery_prefix: z.string().default('homeassistant'),
    commands: z.boolean().default(false).describe('Accept <instrument>/set/<param> and request/<method> (through the same rules as the socket).'),
    buffer_messages: z.number().int().min(0).max(1_000_000).default(10_000).describe('Messages kept while the broker is unreachable; beyond that the oldest are dropped (counted).'),
    reconnect_min_ms: z.number().int().min(10).default(500),
    reconnect_max_ms: z.number().int().min(10).default(30_000),
  })
  .strict();

/** `[application.http]`: the dashboard and HTTP API (docs/http.md). On by default, loopback only; read at start. */
export const httpSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve the dashboard, POST /rpc and GET /events.'),
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on. Anything but loopback requires the token (state dir, daqctl http-token).'),
    port: z.number().int().min(0).max(65535).default(8480).describe('TCP port; 0 picks a free one. When it is taken, a free one is chosen and logged (daemon.status shows it).'),
    require_token: z.boolean().default(false).describe('Require the token on loopback too (on a shared machine every local user can reach loopback, while the socket is limited to a group).'),
    max_body_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024).describe('Largest POST /rpc body.'),
    event_ring: z.number().int().min(0).max(1_000_000).default(4096).describe('Events kept for Last-Event-ID resume.'),
    allowed_origins: z.array(z.string().url()).default([]).describe('Other origins whose pages may call the API (default: none but the dashboard itself).'),
  })
  .strict();

export const applicationSchema = z
  .object({
    name: z.string().default('daqd'),
    socket: socketSchema.optional().describe('Who may use the command socket (mode and group); read at start.'),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional(),
    dynamic_config: dynamicConfigSchema.default(dynamicConfigSchema.parse({})),
    storage: storageSchema.optional().describe('The recorder: readings to CSV, changes to the events file (on by default).'),
    mqtt: mqttSchema.optional().describe('Publish to an MQTT broker (off by default).'),
    http: httpSchema.optional().describe('The dashboard and HTTP API (on by default on 127.0.0.1:8480); read at start.'),
  })
  .strict();

/** Keys every instrument table may have; the driver's options schema checks the rest. */
export const instrumentCommonShape = {
  driver: z.string().min(1).describe('Driver name, e.g. "newport_1830c".'),
  port: z.string().min(1).describe('"sim" for the built-in simulator, "sim:<bus>" for a shared simulated bus, a serial device path, or "tcp://host:port" (a network instrument or serial device server).'),
  description: z.string().optional(),
  enabled: z.boolean().optional().describe('false keeps the instrument in the file but does not run it.'),
  poll_interval_ms: z.number().int().min(10).max(86_400_000).optional().describe('Default 1000.'),
  timeout_ms: z.number().int().min(10).max(600_000).optional().describe('Per-command reply timeout, default 1000.'),
  baud_rate: z.number().int().positive().optional(),
  data_bits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).optional(),
  parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).optional(),
  stop_bits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).optional(),
  flow_control: z.enum(['none', 'rtscts', 'xonxoff']).optional(),
  params: z.record(z.string(), paramValue).optional().describe('Parameter values applied at connect.'),
  record: z.boolean().optional().describe('false: this instrument\'s readings are not recorded to disk (default true). Changing it never reconnects.'),
  publish: z.boolean().optional().describe('false: this instrument is not published to MQTT (default true). Changing it never reconnects.'),
};

export const COMMON_INSTRUMENT_KEYS = new Set(Object.keys(instrumentCommonShape));
/** Common keys whose change needs only a reconnect of that instrument. */
export const CONNECTION_KEYS = ['driver', 'port', 'baud_rate', 'data_bits', 'parity', 'stop_bits', 'flow_control', 'timeout_ms', 'enabled'] as const;

export const instrumentSchema = z.looseObject(instrumentCommonShape);

export const moduleSchema = z.looseObject({
  type: z.string().min(1).describe('Module type, e.g. "monitor", "interlock", "derived".'),
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  roles: z.record(z.string(), idSchema).default({}).describe('Role name -> instrument id.'),
});

export const configSchema = z
  .object({
    application: applicationSchema.default(applicationSchema.parse({})),
    instruments: z.record(idSchema, instrumentSchema).default({}),
    modules: z.record(idSchema, moduleSchema).default({}),
    schedules: z.record(idSchema, scheduleSpecSchema).optional().describe('Standing schedules and triggers (docs/schedules.md): [schedules.<id>], hot-reloaded.'),
  })
  .strict();

export type DaqConfig = z.infer<typeof configSchema>;
export type InstrumentConfig = z.infer<typeof instrumentSchema>;
export type ModuleConfig = z.infer<typeof moduleSchema>;
export type ApplicationConfig = z.infer<typeof applicationSchema>;
