/**
 * Whole-config validation: the schema, then what only drivers and module types know (driver
 * options, parameter types and ranges, port sharing, module roles and capabilities). Every
 * problem is collected, each with its key path and line, so a person can fix the file in one go.
 * Nothing here touches the running system: a config is accepted or refused as a whole.
 */
import type { z } from 'zod';
import { drivers } from '../drivers/registry.js';
import { booleanMeant, numberMeant, show, validateParamValue, valueHint, type ValueSyntax } from '../drivers/common/params.js';
import type { ParamValue } from '../drivers/types.js';
import { checkPortClaims } from '../transport/port-claims.js';
import { isTcpPort, portProblem, SERIAL_ONLY_KEYS } from './port-path.js';
import { moduleTypes } from '../modules/registry.js';
import { describeError } from '../errors.js';
import { configSchema, instrumentCommonShape } from './schema.js';
import type { ConfigIssue } from './issues.js';
import { locateKeyPath } from './locate.js';
import { sameValue, type ConfigModel, type ConfigView, type InstrumentModel, type ReadonlyDeep } from './model.js';
import { driverOptionsOf, resolveInstrument, type InstrumentSpec } from './resolve.js';
import { instrumentCapabilities, roleProblems } from '../modules/capabilities.js';

type Path = (string | number)[];

class IssueList {
  readonly issues: ConfigIssue[] = [];
  /**
   * Hints are written in the syntax the config came in: TOML when there is source text (the file:
   * start-up, reload, --check-config), JSON otherwise (a socket edit: instrument.add / set).
   */
  readonly syntax: ValueSyntax;
  constructor(private readonly text?: string) {
    this.syntax = text !== undefined ? 'toml' : 'json';
  }

  add(path: Path, message: string): void {
    this.issues.push({
      path: path.join('.'),
      message,
      ...(this.text !== undefined ? { line: locateKeyPath(this.text, path) } : {}),
    });
  }

  addZod(base: Path, error: z.ZodError): void {
    for (const issue of error.issues) {
      const path = [...base, ...(issue.path as Path)];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.add([...path, key], 'unknown key (check the spelling; see docs/config.md)');
      } else {
        this.add(path, zodMessage(issue, path, this.syntax));
      }
    }
  }
}

/** Schema checks report the value they refused, so a refusal can say what to write instead. */
const REPORT_INPUT = { reportInput: true } as const;

function zodMessage(issue: z.core.$ZodIssue, path: Path, syntax: ValueSyntax): string {
  if (issue.code === 'invalid_key' && 'issues' in issue) {
    return (issue.issues as z.core.$ZodIssue[]).map((i) => i.message).join('; ');
  }
  return stringInsteadOf(issue, path, syntax) ?? issue.message;
}

/**
 * A string where the schema declares a number, a boolean or one of some fixed values
 * (`poll_interval_ms = "100"`, `enabled = "false"`, `data_bits = "8"`, `parity = "None"`): the
 * schema never converts it (what passes is what runs), so the message says what to write instead.
 * undefined for any other issue (zod's own message is used).
 */
function stringInsteadOf(issue: z.core.$ZodIssue, path: Path, syntax: ValueSyntax): string | undefined {
  const input = issue.input;
  if (typeof input !== 'string') return undefined;
  const last = path[path.length - 1];
  const key = typeof last === 'string' ? last : undefined;
  const withHint = (message: string, hint: string | undefined) => (hint ? `${message}; ${hint}` : message);
  if (issue.code === 'invalid_type') {
    const not = `not the string ${show(input)}`;
    if (issue.expected === 'number' || issue.expected === 'int') {
      return withHint(`expected a number, ${not}`, valueHint({ key, value: input, expects: 'number', suggestion: numberMeant(input) }, syntax));
    }
    if (issue.expected === 'boolean') {
      // In JSON terms the message already says it all ("give true or false" would repeat it).
      const hint = syntax === 'toml' ? valueHint({ key, value: input, expects: 'boolean', suggestion: booleanMeant(input) }, syntax) : undefined;
      return withHint(`expected true or false, ${not}`, hint);
    }
    return undefined;
  }
  const allowed = literalValues(issue);
  if (!allowed) return undefined;
  const message = `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')} (got ${show(input)})`;
  const asNumber = numberMeant(input);
  const asBoolean = booleanMeant(input);
  const exact = allowed.find((v) => (typeof v === 'number' && v === asNumber) || (typeof v === 'boolean' && v === asBoolean));
  if (exact !== undefined) return withHint(message, valueHint({ key, value: input, expects: 'other', suggestion: exact }, syntax));
  const byCase = allowed.filter((v): v is string => typeof v === 'string' && v.toLowerCase() === input.toLowerCase());
  if (byCase.length === 1) return withHint(message, valueHint({ key, value: input, expects: 'other', suggestion: byCase[0], caseOnly: true }, syntax));
  return message;
}

/** The allowed values of an enum / literal (or a union of literals), when that is what refused. */
function literalValues(issue: z.core.$ZodIssue): ParamValue[] | undefined {
  const values = (list: readonly unknown[]) =>
    list.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') ? (list as ParamValue[]) : undefined;
  if (issue.code === 'invalid_value') return values(issue.values);
  if (issue.code === 'invalid_union') {
    const out: ParamValue[] = [];
    for (const branch of issue.errors) {
      if (branch.length !== 1 || branch[0]!.code !== 'invalid_value') return undefined;
      const vs = values(branch[0]!.values);
      if (!vs) return undefined;
      out.push(...vs);
    }
    return out;
  }
  return undefined;
}

/** Validate a parsed config. `text` (the TOML source) lets issues carry line numbers. */
export function validateConfig(model: unknown, text?: string): { issues: ConfigIssue[]; specs: Map<string, InstrumentSpec> } {
  const list = new IssueList(text);
  const specs = new Map<string, InstrumentSpec>();
  const parsed = configSchema.safeParse(model, REPORT_INPUT);
  if (!parsed.success) {
    list.addZod([], parsed.error);
    validateUntouchedTables(model, parsed.error, list);
    return { issues: list.issues, specs };
  }
  const config = model as ConfigModel;
  refuseProtoIds(config, list);
  validateInstruments(config, list, specs);
  validatePorts(specs, list);
  validateModules(config, specs, list);
  validateSchedules(config, list);
  return { issues: list.issues, specs };
}

/** [schedules.<id>] (docs/schedules.md): the instrument must be in the file (values are checked by the scheduler). */
function validateSchedules(config: ConfigView, list: IssueList): void {
  const schedules = (config as { schedules?: Record<string, { instrument?: string; source?: string }> }).schedules ?? {};
  const instruments = (config.instruments ?? {}) as Record<string, unknown>;
  for (const [id, s] of Object.entries(schedules)) {
    if (s.instrument !== undefined && !Object.hasOwn(instruments, s.instrument)) list.add(['schedules', id, 'instrument'], `no instrument "${s.instrument}" in this file`);
    if (s.source !== undefined && !Object.hasOwn(instruments, s.source)) list.add(['schedules', id, 'source'], `no instrument "${s.source}" in this file`);
  }
}

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * zod records skip an own "__proto__" key without running the key schema, and both TOML
 * (`[instruments.__proto__]`) and JSON.parse make one: refuse it here, or it would pass as an id.
 */
function refuseProtoIds(config: ConfigView, list: IssueList): void {
  for (const section of ['instruments', 'modules'] as const) {
    const group = config[section];
    if (isTable(group) && Object.hasOwn(group, '__proto__')) {
      list.add([section, '__proto__'], '"__proto__" is a built-in name of JavaScript objects and cannot be an id');
    }
  }
}

/**
 * The schema refused the file, but the tables it had no complaint about still get the driver and
 * module checks, so one wrong key does not hide the other problems (`daqd --check-config` lists all).
 */
function validateUntouchedTables(model: unknown, error: z.ZodError, list: IssueList): void {
  if (!isTable(model)) return;
  const broken = new Set(error.issues.map((i) => i.path.slice(0, 2).join('.')));
  const untouched = (section: string): Record<string, never> | undefined => {
    const group = model[section];
    if (!isTable(group) || broken.has(section)) return undefined;
    return Object.fromEntries(Object.entries(group).filter(([id]) => !broken.has(`${section}.${id}`))) as Record<string, never>;
  };
  const instruments = untouched('instruments');
  const modules = untouched('modules');
  const specs = new Map<string, InstrumentSpec>();
  if (instruments) validateInstruments({ instruments } as ConfigView, list, specs);
  if (modules && isTable(model.instruments)) {
    validateModules({ instruments: model.instruments, modules } as unknown as ConfigView, specs, list);
  }
}

function validateInstruments(config: ConfigView, list: IssueList, specs: Map<string, InstrumentSpec>): void {
  for (const [id, table] of Object.entries(config.instruments ?? {})) validateInstrumentTable(id, table, list, specs);
}

/** One instrument table's driver-level checks; adds its spec to `specs` if it is valid. */
function validateInstrumentTable(id: string, table: ReadonlyDeep<InstrumentModel>, list: IssueList, specs: Map<string, InstrumentSpec>): void {
  const base: Path = ['instruments', id];
  const driver = drivers.get(table.driver);
  if (!driver) {
    list.add([...base, 'driver'], `unknown driver "${table.driver}" (known: ${[...drivers.keys()].sort().join(', ')})`);
    return;
  }
  refuseSerialSettingsOnTcp(base, table, list);
  // Unknown keys are reported on their own, so a typo does not hide the problems after it.
  const given = driverOptionsOf(table);
  let unknownKeys = false;
  const shape = (driver.optionsSchema as unknown as { shape?: Record<string, unknown> }).shape;
  if (shape) {
    for (const key of Object.keys(given)) {
      if (Object.hasOwn(shape, key)) continue; // own keys only: "constructor" is in every object
      list.add([...base, key], `unknown key for driver ${driver.name} (check the spelling; see docs/drivers/${driver.name}.md)`);
      delete given[key];
      unknownKeys = true;
    }
  }
  const options = driver.optionsSchema.safeParse(given, REPORT_INPUT);
  if (!options.success) {
    list.addZod(base, options.error);
    return;
  }
  const decls = new Map(driver.params(options.data).map((d) => [d.name, d]));
  let paramsOk = true;
  // The spec carries the values that passed, not a copy of the table's: what was checked is what
  // the driver gets (issue #15).
  const params: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(table.params ?? {})) {
    const decl = decls.get(name);
    if (!decl) {
      paramsOk = false;
      const known = [...decls.keys()].join(', ') || 'none';
      list.add([...base, 'params', name], `driver ${driver.name} has no parameter "${name}" (known: ${known})`);
      continue;
    }
    try {
      params[name] = validateParamValue(decl, value, id, list.syntax);
    } catch (err) {
      paramsOk = false;
      list.add([...base, 'params', name], describeError(err));
    }
  }
  if (!paramsOk || unknownKeys) return;
  try {
    specs.set(id, { ...resolveInstrument(id, table, options.data as Record<string, unknown>), params });
  } catch (err) {
    list.add(base, describeError(err));
  }
}

/**
 * baud_rate & co. on a `tcp://` port would be silently ignored (the line behind a device server is
 * set in the server's own config): refused, each with the reason, so nobody believes they took effect.
 */
function refuseSerialSettingsOnTcp(base: Path, table: ReadonlyDeep<InstrumentModel>, list: IssueList): void {
  if (typeof table.port !== 'string' || !isTcpPort(table.port)) return;
  for (const key of SERIAL_ONLY_KEYS) {
    if (!Object.hasOwn(table, key)) continue;
    list.add(
      [...base, key],
      `${key} is a serial-line setting and does not apply to a TCP port (${table.port}): remove it here; for a serial device server (ser2net, Moxa NPort) set the line in the server's own configuration (docs/network.md)`,
    );
  }
}

/** Keys of an instrument table that can change without touching anything outside that table's own checks. */
const LOCAL_INSTRUMENT_KEYS = new Set(['params', 'poll_interval_ms']);
const LOCAL_KEYS_IN_SCHEMA_ORDER = (Object.keys(instrumentCommonShape) as (keyof typeof instrumentCommonShape)[]).filter((k) =>
  LOCAL_INSTRUMENT_KEYS.has(k),
);

/**
 * The instrument whose `params` / `poll_interval_ms` are the only difference between `prev` and
 * `next`: every other part of `next` must be the very object `prev` has (structural sharing, as
 * Execution.draftInstrument makes), and that table's other keys must hold the same values.
 * undefined if the edit is anything else.
 */
function confinedInstrumentEdit(prev: ConfigView, next: ConfigView): string | undefined {
  const prevKeys = Object.keys(prev);
  if (prevKeys.length !== Object.keys(next).length) return undefined;
  for (const key of prevKeys) {
    if (key !== 'instruments' && (prev as Record<string, unknown>)[key] !== (next as Record<string, unknown>)[key]) return undefined;
  }
  const pi = prev.instruments;
  const ni = next.instruments;
  if (!isTable(pi) || !isTable(ni)) return undefined;
  const ids = Object.keys(pi);
  if (ids.length !== Object.keys(ni).length) return undefined;
  let changed: string | undefined;
  for (const id of ids) {
    if (pi[id] === ni[id]) continue;
    if (changed !== undefined || !isTable(pi[id]) || !isTable(ni[id])) return undefined;
    changed = id;
  }
  if (changed === undefined) return undefined;
  const a = pi[changed] as Record<string, unknown>;
  const b = ni[changed] as Record<string, unknown>;
  const aKeys = Object.keys(a).filter((k) => !LOCAL_INSTRUMENT_KEYS.has(k));
  const bKeys = Object.keys(b).filter((k) => !LOCAL_INSTRUMENT_KEYS.has(k));
  if (aKeys.length !== bKeys.length || aKeys.some((k) => !Object.hasOwn(b, k) || !sameValue(a[k], b[k]))) return undefined;
  return changed;
}

/**
 * validateConfig(next) for the common live edit - one instrument's params or poll interval -
 * without re-checking everything else: `prev` must be a config that passed validateConfig and
 * `prevSpecs` its specs. Gives exactly validateConfig(next)'s verdict and issues (a property test
 * compares the two on random edits); undefined when the edit is not of that kind, so the caller
 * validates the whole config.
 *
 * Why it is the same verdict: every other part of `next` is the same object that already passed;
 * the edited table gets the same schema and driver checks, in the same order, as in a full pass;
 * the cross-table checks (port sharing, module roles) read only keys this edit cannot change, and
 * run anyway.
 */
export function validateInstrumentEdit(
  prev: ConfigView,
  prevSpecs: ReadonlyMap<string, InstrumentSpec>,
  next: ConfigView,
): { issues: ConfigIssue[]; specs: Map<string, InstrumentSpec> } | undefined {
  const id = confinedInstrumentEdit(prev, next);
  if (id === undefined) return undefined;
  const table = next.instruments![id]!;
  const list = new IssueList();
  // The schema, for the keys that can differ (the rest of the table passed before), in the
  // schema's own key order, as a whole-config parse reports them.
  for (const key of LOCAL_KEYS_IN_SCHEMA_ORDER) {
    const parsed = instrumentCommonShape[key].safeParse((table as Record<string, unknown>)[key], REPORT_INPUT);
    if (!parsed.success) list.addZod(['instruments', id, key], parsed.error);
  }
  // A full pass stops at the schema too; its other checks skip this table and find nothing else.
  if (list.issues.length > 0) return { issues: list.issues, specs: new Map() };
  const specs = new Map<string, InstrumentSpec>();
  for (const other of Object.keys(next.instruments!)) {
    if (other === id) validateInstrumentTable(id, table, list, specs);
    else if (prevSpecs.has(other)) specs.set(other, prevSpecs.get(other)!);
    else return undefined; // prev was not valid after all: no shortcut
  }
  validatePorts(specs, list);
  const users = Object.entries(next.modules ?? {}).filter(([, m]) => Object.values(m.roles ?? {}).includes(id));
  if (users.length > 0) validateModules({ instruments: next.instruments, modules: Object.fromEntries(users) } as ConfigView, specs, list);
  return { issues: list.issues, specs };
}

function validatePorts(specs: Map<string, InstrumentSpec>, list: IssueList): void {
  for (const s of specs.values()) {
    const problem = portProblem(s.port);
    if (problem) list.add(['instruments', s.id, 'port'], problem);
  }
  const claims = [...specs.values()]
    .filter((s) => s.enabled)
    .map((s) => ({
      instrumentId: s.id,
      port: s.port,
      serial: s.serial,
      multidrop: s.driver.multidrop,
      busAddress: s.driver.busAddress?.(s.options),
    }));
  for (const conflict of checkPortClaims(claims)) {
    // Point at the later instrument(s): the first one on the port was fine on its own.
    for (const id of conflict.instruments.slice(1)) list.add(['instruments', id, 'port'], conflict.message);
  }
}

function validateModules(config: ConfigView, specs: Map<string, InstrumentSpec>, list: IssueList): void {
  const instruments = config.instruments ?? {};
  for (const [id, table] of Object.entries(config.modules ?? {})) {
    const base: Path = ['modules', id];
    const type = moduleTypes.get(table.type);
    if (!type) {
      list.add([...base, 'type'], `unknown module type "${table.type}" (known: ${[...moduleTypes.keys()].sort().join(', ')})`);
      continue;
    }
    const settings = type.settingsSchema.safeParse(moduleSettingsOf(table as Record<string, unknown>), REPORT_INPUT);
    if (!settings.success) {
      list.addZod(base, settings.error);
      continue;
    }
    const declared = new Map(type.roles(settings.data).map((r) => [r.name, r]));
    for (const [role, instrumentId] of Object.entries(table.roles ?? {})) {
      const decl = declared.get(role);
      if (!decl) {
        list.add([...base, 'roles', role], `module type ${type.name} has no role "${role}" (roles: ${[...declared.keys()].join(', ')})`);
        continue;
      }
      if (!Object.hasOwn(instruments, instrumentId)) {
        list.add([...base, 'roles', role], `instrument "${instrumentId}" does not exist`);
        continue;
      }
      const spec = specs.get(instrumentId);
      if (!spec) continue; // the instrument itself is invalid and already reported
      for (const problem of roleProblems(decl, instrumentCapabilities(spec))) {
        list.add([...base, 'roles', role], `instrument "${instrumentId}" ${problem}`);
      }
    }
  }
}

const MODULE_COMMON_KEYS = new Set(['type', 'description', 'enabled', 'roles']);

/** The keys of a module table that are the module type's own settings. */
export function moduleSettingsOf(table: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(table)) if (!MODULE_COMMON_KEYS.has(k)) out[k] = v;
  return out;
}
