/**
 * MQTT commands (`commands = true`, docs/mqtt.md): a /set topic's bare value as an instrument.set,
 * and `request/<method>` through the socket's one dispatcher, each answered on its result or
 * response topic (or the requester's MQTT 5 response topic, with its correlation data).
 *
 * Apart from the service, which owns the connection, publishing and discovery: this is the one
 * place an MQTT message becomes an action, so the rules that keep it safe sit together. A command
 * acts only when it is sent (a retained one, replayed by the broker at start-up and every
 * reconnect, is never run); a payload over MAX_COMMAND_BYTES is refused unparsed; request JSON is
 * checked for nesting before it is parsed, as on the socket.
 */
import type { Logger } from 'pino';
import type { Daemon } from '../../core/daemon.js';
import { DaqError, describeError, toDaqError } from '../../errors.js';
import type { Dispatcher } from '../../rpc/dispatcher.js';
import { MAX_NESTING_DEPTH, nestingExceeds } from '../../rpc/nesting.js';
import { oneShotSession } from '../../rpc/session.js';
import { parseBareValue, type Topics } from './topics.js';

/** The largest command payload: a /set value or a request's JSON params (the socket's line limit is 1 MiB; a command is small). */
export const MAX_COMMAND_BYTES = 64 * 1024;

type Properties = Record<string, unknown> | undefined;
type Command = NonNullable<ReturnType<Topics['parse']>>;

export interface CommandContext {
  readonly daemon: Daemon;
  readonly log: Logger;
  /** Whether the instrument is published (`publish = false` tables are not). */
  published(instrument: string): boolean;
  /** Sends an answer (QoS 1, not retained). */
  publish(topic: string, text: string, properties: Properties): void;
}

export class MqttCommands {
  handled = 0;
  /** Retained commands seen and not run (a broker replaying them on subscribe). */
  refusedRetained = 0;
  private dispatcherPromise: Promise<Dispatcher> | null = null;

  constructor(private readonly ctx: CommandContext) {}

  /** A message on a command topic, `command` being what its topic names. */
  receive(topics: Topics, command: Command, topic: string, payload: Buffer, properties: Properties, retained: boolean): void {
    if (retained) {
      // A broker that ignores retain handling (MQTT 3.1.1) still marks the replay: not run.
      this.refusedRetained++;
      this.ctx.log.warn({ topic }, `MQTT: a retained command on ${topic} was not run (a command acts only when it is sent); clear it with an empty retained message on that topic`);
      return;
    }
    if (payload.length > MAX_COMMAND_BYTES) {
      const error = errorBody(new DaqError('invalid_params', `the payload is ${payload.length} bytes; an MQTT command is at most ${MAX_COMMAND_BYTES} bytes`));
      if (command.kind === 'set') this.reply(`${topics.set(command.instrument, command.param)}/result`, { ok: false, error }, properties);
      else this.reply(topics.response(command.method), { error }, properties);
      return;
    }
    this.handled++;
    if (command.kind === 'set') void this.set(`${topics.set(command.instrument, command.param)}/result`, command.instrument, command.param, payload, properties);
    else void this.request(topics.response(command.method), command.method, payload, properties);
  }

  private reply(topic: string, body: unknown, properties: Properties): void {
    const props: Record<string, unknown> = {};
    if (properties?.correlationData) props.correlationData = properties.correlationData;
    const to = typeof properties?.responseTopic === 'string' && properties.responseTopic ? properties.responseTopic : topic;
    let text: string;
    try {
      text = JSON.stringify(body);
    } catch (err) {
      // Never thrown at the caller: a reply that cannot be encoded is a bug, logged, answered as one.
      this.ctx.log.error({ err, topic: to }, `bug: an MQTT reply could not be encoded: ${describeError(err)}`);
      text = JSON.stringify({ error: errorBody(new DaqError('internal_error', 'internal error: the reply could not be encoded')) });
    }
    this.ctx.publish(to, text, Object.keys(props).length ? props : undefined);
  }

  private async set(topic: string, instrument: string, param: string, payload: Buffer, properties: Properties): Promise<void> {
    try {
      if (!this.ctx.published(instrument)) throw new DaqError('not_found', `instrument "${instrument}" is not published over MQTT (publish = false)`);
      const value = parseBareValue(payload.toString('utf8'));
      const result = await this.ctx.daemon.submit({ type: 'instrument.set', id: instrument, params: { [param]: value } }, 'mqtt');
      this.reply(topic, { ok: true, result }, properties);
    } catch (err) {
      this.reply(topic, { ok: false, error: errorBody(err) }, properties);
    }
  }

  private dispatcher(): Promise<Dispatcher> {
    // Imported lazily: the method table imports the daemon, which imports this service.
    this.dispatcherPromise ??= Promise.all([import('../../rpc/methods/index.js'), import('../../rpc/dispatcher.js')]).then(
      ([{ methods }, { Dispatcher }]) => new Dispatcher(this.ctx.daemon, methods, this.ctx.log),
    );
    return this.dispatcherPromise;
  }

  private async request(topic: string, method: string, payload: Buffer, properties: Properties): Promise<void> {
    let transaction: unknown;
    try {
      const text = payload.toString('utf8').trim();
      // As on the socket: nesting is measured before parsing (deep JSON overflows the parser).
      if (nestingExceeds(text)) throw new DaqError('parse_error', `the payload is nested deeper than ${MAX_NESTING_DEPTH} levels of arrays/objects; it was not parsed`);
      let params: unknown = text === '' ? undefined : JSON.parse(text);
      if (params && typeof params === 'object' && !Array.isArray(params) && Object.hasOwn(params, 'transaction')) {
        const { transaction: t, ...rest } = params as Record<string, unknown>;
        transaction = t;
        params = Object.keys(rest).length ? rest : undefined;
      }
      if (method.startsWith('events.')) throw new DaqError('invalid_params', `${method} belongs to a socket connection; over MQTT, subscribe to the topics instead`);
      // The one dispatcher (rpc/dispatcher.ts): the same methods, validation and errors as the socket.
      const result = await (await this.dispatcher()).call(method, params, oneShotSession('mqtt', 'subscribe to the topics instead'));
      this.reply(topic, { result, ...(transaction !== undefined ? { transaction } : {}) }, properties);
    } catch (err) {
      const e = err instanceof SyntaxError ? new DaqError('invalid_params', `the payload is not JSON: ${err.message}`) : err;
      this.reply(topic, { error: errorBody(e), ...(transaction !== undefined ? { transaction } : {}) }, properties);
    }
  }
}

function errorBody(err: unknown) {
  const e = toDaqError(err);
  return { code: e.code, message: e.message, data: { kind: e.kind, ...(e.details ? { details: e.details } : {}) } };
}
