/**
 * The MQTT service (issue #21, docs/mqtt.md): daqd as a client of an existing broker, MQTT 5.
 *
 * - Publishes readings, retained instrument states and parameters, a retained online/offline
 *   status (also the last will) and Home Assistant discovery (topics.ts, discovery.ts), the latter
 *   again whenever Home Assistant says `online` on `<prefix>/status`.
 * - While the broker is unreachable, messages wait in a bounded buffer (`buffer_messages`; the
 *   oldest are dropped and counted) and go out once connected again. Reconnects back off
 *   exponentially from reconnect_min_ms to reconnect_max_ms.
 * - Commands (`commands = true`) go through Daemon.submit and the socket's method table: the same
 *   validation and safety rules (a set against a tripped interlock answers `unsafe`); commands.ts
 *   turns a message into an action, and says what is never run.
 * - Reacts to config changes: new settings reconnect; instruments added, removed or with
 *   `publish = false` get their discovery and retained topics updated.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { ConfigView } from '../../config/model.js';
import { instrumentsOf, sameValue } from '../../config/model.js';
import { resolveInstrument } from '../../config/resolve.js';
import { mqttSchema } from '../../config/schema.js';
import type { DaemonEvent } from '../../core/events.js';
import type { Daemon } from '../../core/daemon.js';
import type { ParamValue } from '../../drivers/types.js';
import { VERSION } from '../../version.js';
import { discoveryPayload, discoveryTopic } from './discovery.js';
import { MqttCommands } from './commands.js';
import { Topics, defaultHost, readingPayload } from './topics.js';

export type MqttSettings = ReturnType<typeof mqttSchema.parse> & { hostLevel: string };

export function mqttSettings(config: ConfigView): MqttSettings {
  const app = (config.application ?? {}) as Record<string, unknown>;
  const s = mqttSchema.parse(app.mqtt ?? {});
  return { ...s, hostLevel: s.host ?? defaultHost() };
}

interface Outgoing {
  topic: string;
  payload: string | Buffer;
  qos: 0 | 1;
  retain: boolean;
  properties?: Record<string, unknown>;
}

export interface MqttServiceOptions {
  daemon: Daemon;
  configPath: string;
  log: Logger;
}

export class MqttService {
  private settings: MqttSettings | null = null;
  private client: MqttClient | null = null;
  private topics: Topics | null = null;
  private readonly buffer: Outgoing[] = [];
  private off: (() => void) | null = null;
  private offSet: (() => void) | null = null;
  private published = 0;
  private dropped = 0;
  private reconnects = 0;
  private attempts = 0;
  private connectedSince: string | null = null;
  private lastError: string | null = null;
  private discoveries = 0;
  /** Commands: the one place an MQTT message becomes an action (commands.ts). */
  private readonly commands: MqttCommands;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Instruments announced (discovery, retained state): their config tables, to see changes. */
  private announced = new Map<string, unknown>();
  private noPublish = new Set<string>();
  private generation = 0;

  constructor(private readonly options: MqttServiceOptions) {
    this.commands = new MqttCommands({
      daemon: options.daemon,
      log: options.log,
      published: (id) => !this.noPublish.has(id),
      publish: (topic, text, properties) => this.publish(topic, text, 1, false, properties),
    });
  }

  /** The running config (at start-up and after every change). */
  configure(config: ConfigView): void {
    if (this.stopped) return;
    const next = mqttSettings(config);
    const prev = this.settings;
    this.settings = next;
    const instruments = instrumentsOf(config);
    this.noPublish = new Set(Object.entries(instruments).filter(([, t]) => (t as { publish?: boolean }).publish === false).map(([id]) => id));
    if (!next.enabled) {
      if (this.client) void this.disconnect();
      return;
    }
    if (!prev || !this.client || !sameValue({ ...prev, hostLevel: prev.hostLevel }, { ...next, hostLevel: next.hostLevel })) {
      if (this.client) void this.disconnect().then(() => this.connect());
      else this.connect();
      return;
    }
    if (this.client.connected) this.announce(config);
  }

  private connect(): void {
    if (this.stopped || !this.settings?.enabled) return;
    const s = this.settings;
    const gen = ++this.generation;
    this.topics = new Topics(`${s.base_topic}/${s.hostLevel}`);
    const topics = this.topics;
    const base = dirname(resolve(this.options.configPath));
    const file = (p: string | undefined) => (p ? readFileSync(resolve(base, p)) : undefined);
    let password = s.password;
    const opts: IClientOptions = {
      protocolVersion: 5,
      clientId: s.client_id ?? `daqd_${s.hostLevel}_${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_'),
      clean: true,
      reconnectPeriod: 0, // reconnects are ours: with backoff
      connectTimeout: 10_000,
      keepalive: 30,
      queueQoSZero: false,
      will: { topic: topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
      rejectUnauthorized: s.reject_unauthorized,
    };
    try {
      if (s.password_file) password = readFileSync(resolve(base, s.password_file), 'utf8').split('\n')[0]!;
      if (s.username !== undefined) opts.username = s.username;
      if (password !== undefined) opts.password = password;
      const ca = file(s.ca_file);
      const cert = file(s.cert_file);
      const key = file(s.key_file);
      if (ca) opts.ca = ca;
      if (cert) opts.cert = cert;
      if (key) opts.key = key;
    } catch (err) {
      this.lastError = `cannot read a credentials file: ${(err as Error).message}`;
      this.options.log.error(this.lastError);
      return;
    }
    void import('mqtt').then(({ connect }) => {
      if (gen !== this.generation || this.stopped) return;
      const client = connect(s.url, opts);
      this.client = client;
      client.on('connect', () => {
        if (gen !== this.generation) return;
        this.attempts = 0;
        this.connectedSince = new Date().toISOString();
        this.lastError = null;
        this.options.log.info({ url: s.url }, `MQTT: connected to ${s.url} as ${topics.root}`);
        this.onConnect(client);
      });
      client.on('error', (err) => {
        if (gen !== this.generation) return;
        if (this.lastError !== err.message) this.options.log.warn({ url: s.url }, `MQTT: ${err.message}`);
        this.lastError = err.message;
      });
      client.on('close', () => {
        if (gen !== this.generation || this.stopped) return;
        if (this.connectedSince) this.options.log.warn(`MQTT: connection to ${s.url} lost; buffering up to ${s.buffer_messages} messages`);
        this.connectedSince = null;
        this.scheduleReconnect(client, gen);
      });
      client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.properties as Record<string, unknown> | undefined, packet.retain));
    });
    if (!this.off) this.off = this.options.daemon.events.subscribe((e) => this.onEvent(e), { types: ['reading', 'instrument.state'], owner: 'MQTT' });
    if (!this.offSet) this.offSet = this.options.daemon.onParamsSet((c) => this.publishParams(c.instrument));
  }

  private scheduleReconnect(client: MqttClient, gen: number): void {
    if (this.reconnectTimer) return;
    const s = this.settings!;
    const delay = Math.min(s.reconnect_max_ms, s.reconnect_min_ms * 2 ** Math.min(this.attempts, 20));
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (gen !== this.generation || this.stopped) return;
      this.reconnects++;
      client.reconnect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private onConnect(client: MqttClient): void {
    const s = this.settings!;
    const topics = this.topics!;
    client.publish(topics.status, 'online', { qos: 1, retain: true });
    // Commands with retain handling 2: the broker never replays a retained command on subscribe
    // (start-up and every reconnect subscribe again, and must never perform an action).
    if (s.commands) client.subscribe([topics.setFilter, topics.requestFilter], { qos: 1, rh: 2 });
    if (s.discovery) client.subscribe(`${s.discovery_prefix}/status`, { qos: 1 });
    this.announced.clear();
    this.announce(this.options.daemon.config);
    // What waited while the broker was away, oldest first.
    const waiting = this.buffer.splice(0);
    for (const m of waiting) this.send(m);
  }

  /** Discovery, retained state and params of every published instrument (changed ones only after the first time). */
  private announce(config: ConfigView, force = false): void {
    const s = this.settings!;
    const instruments = instrumentsOf(config);
    for (const [id, table] of Object.entries(instruments)) {
      if (this.noPublish.has(id)) {
        if (this.announced.has(id)) this.unannounce(id);
        continue;
      }
      if (!force && this.announced.has(id) && this.announced.get(id) === table) continue;
      this.announced.set(id, table);
      if (s.discovery) this.publishDiscovery(id, table);
      const view = this.instrumentView(id);
      if (view) this.publish(this.topics!.state(id), view.state, 1, true);
      this.publishParams(id);
    }
    for (const id of [...this.announced.keys()]) if (!Object.hasOwn(instruments, id)) this.unannounce(id);
  }

  private unannounce(id: string): void {
    const s = this.settings!;
    this.announced.delete(id);
    // An empty retained message deletes the retained one (and the Home Assistant device).
    if (s.discovery) this.publish(discoveryTopic(s.discovery_prefix, s.hostLevel, id), '', 1, true);
    this.publish(this.topics!.state(id), '', 1, true);
    this.publish(this.topics!.params(id), '', 1, true);
  }

  private publishDiscovery(id: string, table: unknown): void {
    const s = this.settings!;
    try {
      const spec = resolveInstrument(id, table as never);
      const payload = discoveryPayload({
        host: s.hostLevel,
        instrument: id,
        driver: spec.driver.name,
        description: (table as { description?: string }).description,
        readings: spec.driver.readings(spec.options),
        params: spec.driver.params(spec.options),
        topics: this.topics!,
        commands: s.commands,
        version: VERSION,
      });
      this.publish(discoveryTopic(s.discovery_prefix, s.hostLevel, id), JSON.stringify(payload), 1, true);
      this.discoveries++;
    } catch (err) {
      this.options.log.warn({ instrument: id }, `MQTT discovery for ${id}: ${(err as Error).message}`);
    }
  }

  private instrumentView(id: string) {
    try {
      return this.options.daemon.getInstrument(id);
    } catch {
      return undefined;
    }
  }

  private publishParams(id: string): void {
    if (!this.topics || !this.settings?.enabled || this.noPublish.has(id)) return;
    const view = this.instrumentView(id);
    if (!view) return;
    const params: Record<string, ParamValue> = { ...view.params, ...view.device };
    this.publish(this.topics.params(id), JSON.stringify(params), 1, true);
  }

  private onEvent(e: DaemonEvent): void {
    const s = this.settings;
    if (!s?.enabled || !this.topics) return;
    if (e.type === 'reading') {
      if (this.noPublish.has(e.instrument)) return;
      this.publish(this.topics.readings(e.instrument), readingPayload(e.ts, e.seq, e.values), s.qos, false);
      if (s.bare_values) for (const [name, v] of Object.entries(e.values)) this.publish(this.topics.reading(e.instrument, name), String(v), s.qos, false);
    } else if (e.type === 'instrument.state') {
      if (this.noPublish.has(e.instrument)) return;
      this.publish(this.topics.state(e.instrument), e.state, 1, true);
    }
  }

  private publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean, properties?: Record<string, unknown>): void {
    this.send({ topic, payload, qos, retain, ...(properties ? { properties } : {}) });
  }

  private send(m: Outgoing): void {
    const c = this.client;
    if (c && c.connected) {
      c.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain, ...(m.properties ? { properties: m.properties } : {}) });
      this.published++;
      return;
    }
    const max = this.settings?.buffer_messages ?? 0;
    if (max === 0) {
      this.dropped++;
      return;
    }
    if (this.buffer.length >= max) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(m);
  }

  private onMessage(topic: string, payload: Buffer, properties: Record<string, unknown> | undefined, retained = false): void {
    const s = this.settings;
    if (!s?.enabled || !this.topics) return;
    if (s.discovery && topic === `${s.discovery_prefix}/status`) {
      if (payload.toString().trim() === 'online') this.announce(this.options.daemon.config, true);
      return;
    }
    if (!s.commands) return;
    const command = this.topics.parse(topic);
    if (command) this.commands.receive(this.topics, command, topic, payload, properties, retained);
  }

  status() {
    const s = this.settings;
    return {
      enabled: s?.enabled ?? false,
      ...(s?.enabled
        ? {
            url: s.url,
            root: this.topics?.root ?? null,
            connected: this.client?.connected === true,
            connectedSince: this.connectedSince,
            published: this.published,
            buffered: this.buffer.length,
            dropped: this.dropped,
            reconnects: this.reconnects,
            discoveries: this.discoveries,
            commands: s.commands,
            commandsHandled: this.commands.handled,
            retainedCommandsRefused: this.commands.refusedRetained,
            lastError: this.lastError,
          }
        : {}),
    };
  }

  private async disconnect(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.generation++;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connectedSince = null;
    if (!c) return;
    if (c.connected && this.topics) {
      // Bounded like the end below: mqtt.js never answers a QoS 1 publish to a broker that stopped
      // responding, and an unbounded wait here left MQTT dead until daqd restarted.
      await new Promise<void>((r) => {
        const t = setTimeout(r, 2000);
        t.unref();
        c.publish(this.topics!.status, 'offline', { qos: 1, retain: true }, () => {
          clearTimeout(t);
          r();
        });
      });
    }
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        c.end(true);
        r();
      }, 2000);
      t.unref();
      c.end(false, () => {
        clearTimeout(t);
        r();
      });
    });
  }

  /** Publishes the last states and `offline`, and disconnects cleanly (the will is not sent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.off?.();
    this.offSet?.();
    const c = this.client;
    if (c?.connected && this.topics) {
      for (const id of this.announced.keys()) {
        const view = this.instrumentView(id);
        if (view) c.publish(this.topics.state(id), view.state, { qos: 1, retain: true });
      }
    }
    await this.disconnect();
  }
}
