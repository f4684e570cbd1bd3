/**
 * daqd's MQTT service against a real mosquitto (MQTT 5) started here, with daqd as a real child
 * process: documented topics and payloads, retained state and status, Home Assistant discovery
 * (and its re-publication), last will after kill -9, a broker restart mid-stream (buffered,
 * resumed, drops counted), /set applied and refused by an interlock, request/response with
 * correlation data and an echoed transaction.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, waitUntil, type DaemonHandle } from '../helpers/daemon.js';
import { Broker, Listener } from '../services/mosquitto.js';

let broker: Broker;
const handles: DaemonHandle[] = [];
const listeners: Listener[] = [];

const CONFIG = (url: string, extra = '') => `[application.dynamic_config]
enable_hot_reload = false

[application.storage]
enabled = false

[application.mqtt]
enabled = true
url = "${url}"
host = "lab1"
bare_values = true
commands = true
${extra || 'reconnect_min_ms = 50\nreconnect_max_ms = 400'}

[instruments.pm]
driver = "newport_1830c"
port = "sim"
poll_interval_ms = 20

[instruments.pm.params]
wavelength_nm = 800

[instruments.laser]
driver = "maitai"
port = "sim"
poll_interval_ms = 200

[instruments.laser.params]
wavelength_nm = 800
shutter = false

[instruments.quiet]
driver = "newport_1830c"
port = "sim"
publish = false

[modules.guard]
type = "interlock"
reading = "power"
above = 1e-3
unit = "W"
parameter = "shutter"
value = false

[modules.guard.roles]
sensor = "pm"
actuator = "laser"
`;

async function daqd(extra = ''): Promise<DaemonHandle> {
  const h = await startDaemon({ config: CONFIG(broker.url, extra) });
  handles.push(h);
  return h;
}
async function listen(topics: string[], opts = {}): Promise<Listener> {
  const l = await Listener.connect(broker.url, topics, opts);
  listeners.push(l);
  return l;
}

beforeAll(async () => {
  broker = await Broker.start();
});
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close().catch(() => {});
  for (const h of handles.splice(0)) await h.dispose();
});
afterAll(async () => {
  await broker?.dispose();
});

describe('MQTT', () => {
  it('publishes readings (JSON and bare numbers), retained state and status, Home Assistant discovery; publish = false is silent', async () => {
    const live = await listen(['daqd/lab1/#', 'homeassistant/#']);
    const h = await daqd();
    const json = await live.waitFor((m) => m.topic === 'daqd/lab1/pm', 10_000, 'a pm reading');
    const body = JSON.parse(json.text);
    expect(body).toMatchObject({ ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/), seq: expect.any(Number), power: expect.any(Number) });
    expect(json.retain).toBe(false);
    const bare = await live.waitFor((m) => m.topic === 'daqd/lab1/pm/power');
    expect(Number.isFinite(Number(bare.text))).toBe(true);
    await live.waitFor((m) => m.topic === 'daqd/lab1/pm/state' && m.text === 'ready');

    // A late subscriber gets the retained state, params, status and discovery.
    const late = await listen(['daqd/lab1/status', 'daqd/lab1/pm/state', 'daqd/lab1/pm/params', 'homeassistant/device/+/config']);
    expect((await late.waitFor((m) => m.topic === 'daqd/lab1/status')).text).toBe('online');
    const st = await late.waitFor((m) => m.topic === 'daqd/lab1/pm/state');
    expect(st).toMatchObject({ text: 'ready', retain: true });
    expect(JSON.parse((await late.waitFor((m) => m.topic === 'daqd/lab1/pm/params')).text)).toMatchObject({ wavelength_nm: 800 });
    const disc = await late.waitFor((m) => m.topic === 'homeassistant/device/daqd_lab1_pm/config');
    expect(disc.retain).toBe(true);
    const d = JSON.parse(disc.text);
    expect(d.dev).toMatchObject({ ids: ['daqd_lab1_pm'], mf: 'daqd', mdl: 'newport_1830c' });
    expect(d.availability_topic).toBe('daqd/lab1/status');
    expect(d.cmps.daqd_lab1_pm_power).toMatchObject({ p: 'sensor', unit_of_measurement: 'W', state_class: 'measurement', state_topic: 'daqd/lab1/pm', value_template: '{{ value_json.power }}' });
    expect(d.cmps.daqd_lab1_pm_wavelength_nm).toMatchObject({ p: 'number', command_topic: 'daqd/lab1/pm/set/wavelength_nm', min: expect.any(Number), max: expect.any(Number) });

    // Home Assistant restarts and says so: discovery comes again.
    const before = live.messages.filter((m) => m.topic === 'homeassistant/device/daqd_lab1_pm/config').length;
    await late.client.publishAsync('homeassistant/status', 'online');
    await live.waitFor(() => live.messages.filter((m) => m.topic === 'homeassistant/device/daqd_lab1_pm/config').length > before, 5000, 'discovery again');

    expect(live.messages.some((m) => m.topic.startsWith('daqd/lab1/quiet'))).toBe(false);
    expect(live.messages.some((m) => m.topic.includes('daqd_lab1_quiet'))).toBe(false);

    // A clean stop says offline (retained).
    expect(await h.stop()).toBe(0);
    await live.waitFor((m) => m.topic === 'daqd/lab1/status' && m.text === 'offline', 5000, 'offline at stop');
  });

  it('the last will says offline after kill -9', async () => {
    const h = await daqd();
    const l = await listen(['daqd/lab1/status']);
    await l.waitFor((m) => m.text === 'online');
    h.proc.kill('SIGKILL');
    await h.exited;
    await l.waitFor((m) => m.text === 'offline', 10_000, 'the last will');
    // Retained: a new subscriber sees it too.
    const late = await listen(['daqd/lab1/status']);
    expect((await late.waitFor(() => true)).text).toBe('offline');
  });

  it('a broker restart mid-stream: messages buffered (bounded, drops counted), then sent; publishing resumes', async () => {
    const h = await daqd('buffer_messages = 30\nreconnect_min_ms = 1500\nreconnect_max_ms = 1500');
    const l = await listen(['daqd/lab1/pm']);
    await l.waitFor(() => true);
    await broker.stop();
    const down = Date.now();
    // 20 ms readings fill a 30-message buffer within a second: some are dropped and counted.
    await waitUntil(async () => {
      const s = (await h.call('daemon.status')).mqtt;
      return !s.connected && s.dropped > 0 && s.buffered === 30 ? s : undefined;
    }, 10_000, 'buffer full and drops counted while the broker is down');
    await broker.start();
    // Our subscriber is back before daqd's 1.5 s backoff: it sees what daqd had buffered.
    await waitUntil(() => l.client.connected, 5000, 'listener reconnected');
    await l.client.subscribeAsync(['daqd/lab1/pm'], { qos: 1 });
    const back = await waitUntil(async () => {
      const s = (await h.call('daemon.status')).mqtt;
      return s.connected ? Date.parse(s.connectedSince) : undefined;
    }, 10_000, 'daqd reconnected');
    // The buffer goes out first: readings taken while the broker was down, before daqd was back.
    await l.waitFor((m) => {
      const ts = Date.parse(JSON.parse(m.text).ts);
      return ts > down && ts < back;
    }, 10_000, 'a reading produced while the broker was down');
    await l.waitFor((m) => Date.parse(JSON.parse(m.text).ts) > back + 100, 10_000, 'live readings again');
    const s = (await h.call('daemon.status')).mqtt;
    expect(s).toMatchObject({ connected: true, buffered: 0 });
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.reconnects).toBeGreaterThan(0);
  });

  it('/set is applied through the same path as the socket; refused with unsafe by a tripped interlock', async () => {
    const h = await daqd();
    const l = await listen(['daqd/lab1/+/set/+/result', 'daqd/lab1/pm/params', 'daqd/lab1/+/state']);
    await l.waitFor((m) => m.topic === 'daqd/lab1/pm/state' && m.text === 'ready', 10_000, 'pm ready');
    await l.waitFor((m) => m.topic === 'daqd/lab1/laser/state' && m.text === 'ready', 10_000, 'laser ready');
    await l.client.publishAsync('daqd/lab1/pm/set/wavelength_nm', '820');
    const ok = JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/pm/set/wavelength_nm/result')).text);
    expect(ok).toMatchObject({ ok: true, result: { params: { wavelength_nm: 820 } } });
    expect((await h.call('instrument.get', { id: 'pm' })).params.wavelength_nm).toBe(820);
    await l.waitFor((m) => m.topic === 'daqd/lab1/pm/params' && JSON.parse(m.text).wavelength_nm === 820, 5000, 'params re-published');

    // A bad value is refused by the same validation.
    await l.client.publishAsync('daqd/lab1/pm/set/wavelength_nm', 'blue');
    const bad = JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/pm/set/wavelength_nm/result' && m.text.includes('"ok":false'))).text);
    expect(bad.error.data.kind).toMatch(/invalid|validation/);

    // Trip the interlock (the meter switched to dBm), then try to open the shutter over MQTT.
    await h.call('instrument.set', { id: 'pm', params: { units: 'dBm' }, persist: false });
    await waitUntil(async () => (await h.call('daemon.status')).trouble.interlocks.length > 0, 10_000, 'the trip');
    await l.client.publishAsync('daqd/lab1/laser/set/shutter', 'true');
    const refused = JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/laser/set/shutter/result')).text);
    expect(refused).toMatchObject({ ok: false, error: { data: { kind: 'unsafe' } } });
    expect((await h.call('instrument.get', { id: 'laser' })).device.shutter).toBe(false);
  });

  it('request/<method> answers on response/<method> with the correlation data, or an echoed transaction', async () => {
    await daqd();
    const l = await listen(['daqd/lab1/response/#', 'replies/me']);
    await l.client.publishAsync('daqd/lab1/request/instrument.get', JSON.stringify({ id: 'pm' }), {
      properties: { responseTopic: 'replies/me', correlationData: Buffer.from('req-42') },
    });
    const r = await l.waitFor((m) => m.topic === 'replies/me');
    expect(Buffer.from(r.properties!.correlationData).toString()).toBe('req-42');
    expect(JSON.parse(r.text).result).toMatchObject({ id: 'pm', driver: 'newport_1830c' });

    await l.client.publishAsync('daqd/lab1/request/instrument.get', JSON.stringify({ id: 'nope', transaction: 't-7' }));
    const e = JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/response/instrument.get')).text);
    expect(e).toMatchObject({ transaction: 't-7', error: { data: { kind: 'not_found' } } });

    await l.client.publishAsync('daqd/lab1/request/daemon.status', '', { properties: { correlationData: Buffer.from([1, 2, 3]) } });
    const s = await l.waitFor((m) => m.topic === 'daqd/lab1/response/daemon.status');
    expect([...Buffer.from(s.properties!.correlationData)]).toEqual([1, 2, 3]);
    expect(JSON.parse(s.text).result.mqtt.connected).toBe(true);
  });

  it('a retained command is never run at start-up (the broker replays it on subscribe); an oversized or over-nested command is refused unparsed', async () => {
    const pub = await listen([]);
    // Published with the retain flag before daqd started (Node-RED and Home Assistant make that easy).
    await pub.client.publishAsync('daqd/lab1/pm/set/wavelength_nm', '900', { retain: true, qos: 1 });
    try {
      const h = await daqd();
      const l = await listen(['daqd/lab1/+/set/+/result', 'daqd/lab1/response/#', 'daqd/lab1/pm/state']);
      await l.waitFor((m) => m.topic === 'daqd/lab1/pm/state' && m.text === 'ready', 10_000, 'pm ready');
      // A command sent now comes after anything the broker replayed on daqd's subscribe.
      await l.client.publishAsync('daqd/lab1/pm/set/wavelength_nm', '820');
      expect(JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/pm/set/wavelength_nm/result')).text)).toMatchObject({ ok: true });
      const status = await h.call('daemon.status');
      expect(status.mqtt.commandsHandled).toBe(1);
      const history = await h.call('history.list', { instrument: 'pm' });
      expect(history.entries.filter((e: { source: string }) => e.source === 'mqtt').map((e: { new?: unknown; value?: unknown }) => e.new ?? e.value)).not.toContain(900);

      // 70 kB of digits and a letter: refused by size at once (the old number pattern backtracked
      // quadratically on it and froze the daemon for seconds).
      await l.client.publishAsync('daqd/lab1/pm/set/wavelength_nm', '1'.repeat(70_000) + 'x');
      const big = JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/pm/set/wavelength_nm/result' && m.text.includes('"ok":false'))).text);
      expect(big.error.data.kind).toBe('invalid_params');
      expect(big.error.message).toMatch(/at most \d+ bytes/);

      // Nested past the socket's limit: parse_error on the response topic, not a silent internal error.
      await l.client.publishAsync('daqd/lab1/request/instrument.get', `{"id":${'['.repeat(5000)}${']'.repeat(5000)}}`);
      const deep = JSON.parse((await l.waitFor((m) => m.topic === 'daqd/lab1/response/instrument.get')).text);
      expect(deep.error.data.kind).toBe('parse_error');
      expect((await h.call('instrument.get', { id: 'pm' })).params.wavelength_nm).toBe(820);
    } finally {
      await pub.client.publishAsync('daqd/lab1/pm/set/wavelength_nm', '', { retain: true, qos: 1 });
    }
  });
});
