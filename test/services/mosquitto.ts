/**
 * A real mosquitto broker for tests (Debian's mosquitto 2.x, MQTT 5): listener on 127.0.0.1 at a
 * free port, anonymous, no persistence. Ready = a TCP connection is accepted (no fixed sleep).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { waitUntil } from '../helpers/daemon.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class Broker {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'daqd-mosq-'));
  output = '';
  private constructor(readonly port: number) {
    writeFileSync(join(this.dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  static async start(port?: number): Promise<Broker> {
    const b = new Broker(port ?? (await freePort()));
    await b.start();
    return b;
  }

  async start(): Promise<void> {
    const proc = spawn(MOSQUITTO, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.output += d));
    proc.stderr!.on('data', (d) => (this.output += d));
    let exited = false;
    proc.once('exit', () => (exited = true));
    await waitUntil(async () => {
      if (exited) throw new Error(`mosquitto exited:\n${this.output}`);
      return accepts(this.port);
    }, 10_000, `mosquitto on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A test subscriber that keeps every message (topic, text, retain flag, MQTT 5 properties). */
export class Listener {
  readonly messages: { topic: string; text: string; retain: boolean; properties: Record<string, any> | undefined }[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, text: payload.toString(), retain: packet.retain, properties: packet.properties as any }));
  }

  static async connect(url: string, topics: string[], opts: IClientOptions = {}): Promise<Listener> {
    const client = connect(url, { protocolVersion: 5, reconnectPeriod: 100, ...opts });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const l = new Listener(client);
    if (topics.length) await client.subscribeAsync(topics, { qos: 1 });
    return l;
  }

  waitFor(pred: (m: Listener['messages'][number]) => boolean, timeoutMs = 10_000, what = 'a message') {
    return waitUntil(() => this.messages.find(pred), timeoutMs, what);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
