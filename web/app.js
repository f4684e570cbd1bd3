// The daqd dashboard: a thin view over the same JSON-RPC methods as daqctl (POST /rpc) and one
// multiplexed event stream (GET /events). No build step: preact + htm + uPlot from node_modules
// through the page's import map (docs/http.md).
import { h, render } from 'preact';
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { html } from 'htm/preact';
import uPlot from 'uplot';

const TOKEN = new URLSearchParams(location.search).get('token');
const QS = TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : '';
let rpcId = 0;

export class RpcError extends Error {
  constructor(err) {
    super(err.message);
    this.kind = err.data?.kind ?? 'error';
    this.data = err.data;
  }
}

export async function rpc(method, params) {
  const res = await fetch('/rpc', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(TOKEN ? { authorization: `Bearer ${TOKEN}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, ...(params ? { params } : {}) }),
  });
  if (!res.ok) throw new RpcError({ message: `HTTP ${res.status}: ${(await res.text()).trim()}`, data: { kind: 'http' } });
  const msg = await res.json();
  if (msg.error) throw new RpcError(msg.error);
  return msg.result;
}

const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : String(+v.toPrecision(6))) : String(v));

// ---- live data: one EventSource for the page; plots read from these buffers ------------------
const series = new Map(); // "inst/reading" -> { t: [], y: [], unit }
const listeners = new Map(); // series key -> Set of redraw callbacks
const notify = (key) => { for (const l of listeners.get(key) ?? []) l(); };
const notifyAll = () => { for (const set of listeners.values()) for (const l of set) l(); };
let paused = false;
let windowS = 60;

function pushReading(ev) {
  const changed = [];
  const t = Date.parse(ev.ts) / 1000;
  for (const [k, v] of Object.entries(ev.values ?? {})) {
    if (typeof v !== 'number') continue;
    const key = `${ev.instrument}/${k}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { t: [], y: [], unit: ev.units?.[k] ?? '' }));
    changed.push(key);
    s.t.push(t);
    s.y.push(v);
    s.unit = ev.units?.[k] ?? s.unit;
    const cut = t - 600;
    while (s.t.length && s.t[0] < cut) { s.t.shift(); s.y.shift(); }
  }
  return changed;
}

function Plot({ id }) {
  const el = useRef(null);
  useEffect(() => {
    const s = series.get(id);
    const width = Math.max(200, el.current.clientWidth || 320);
    const u = new uPlot(
      { width, height: 160, legend: { show: false }, scales: { x: { time: true } }, series: [{}, { label: id, stroke: '#1f5fbf', width: 1.5, points: { show: false } }], axes: [{}, { size: 70 }] },
      [[], []],
      el.current,
    );
    let raf = 0;
    const draw = () => {
      raf = 0;
      if (paused || !s || s.t.length === 0) return;
      const now = s.t[s.t.length - 1];
      let i = 0;
      while (i < s.t.length && s.t[i] < now - windowS) i++;
      u.setData([s.t.slice(i), s.y.slice(i)]);
      // Reading timestamp -> plotted, for the benchmark (bench/dashboard-latency.ts); the last 1000.
      const lat = (globalThis.__daqdPlotLatencyMs ??= []);
      lat.push(Date.now() - now * 1000);
      if (lat.length > 1000) lat.shift();
      el.current?.setAttribute('data-points', String(s.t.length - i));
    };
    const on = () => { if (!raf) raf = requestAnimationFrame(draw); };
    // Follow the page's width (a phone turned, a window resized).
    const ro = new ResizeObserver(() => { const w = el.current?.clientWidth; if (w) u.setSize({ width: w, height: 160 }); });
    ro.observe(el.current);
    if (!listeners.has(id)) listeners.set(id, new Set());
    listeners.get(id).add(on);
    on();
    return () => { listeners.get(id)?.delete(on); cancelAnimationFrame(raf); ro.disconnect(); u.destroy(); };
  }, [id]);
  const s = series.get(id);
  return html`<figure class="plot" style="margin:0"><figcaption class="muted">${id}${s?.unit ? ` (${s.unit})` : ''}</figcaption><div ref=${el} class="plot-area" data-series=${id}></div></figure>`;
}

// ---- parameters: set inline with the driver's type, range and unit ---------------------------
function checkValue(p, text) {
  if (p.type === 'boolean') return text === 'true' ? { value: true } : text === 'false' ? { value: false } : { error: 'choose true or false' };
  if (p.type === 'number' || p.type === 'integer') {
    if (text.trim() === '') return { error: 'enter a number' };
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: `"${text}" is not a number` };
    if (p.type === 'integer' && !Number.isInteger(n)) return { error: 'must be a whole number' };
    if (p.min !== undefined && n < p.min) return { error: `below the range: ${p.min} to ${p.max ?? '∞'}${p.unit ? ' ' + p.unit : ''}` };
    if (p.max !== undefined && n > p.max) return { error: `above the range: ${p.min ?? '-∞'} to ${p.max}${p.unit ? ' ' + p.unit : ''}` };
    return { value: n };
  }
  if (p.values && !p.values.includes(text)) return { error: `one of ${p.values.join(', ')}` };
  return { value: text };
}

function ParamRow({ inst, p, held, onDone }) {
  const isAction = p.kind === 'action';
  const [text, setText] = useState(p.device !== undefined ? String(p.device) : p.configured !== undefined ? String(p.configured) : '');
  const [error, setError] = useState(null);
  const [ok, setOk] = useState(null);
  const [confirming, setConfirming] = useState(null);
  const inputId = `in-${inst}-${p.name}`;
  // Follow the device while the person is not typing here.
  useEffect(() => {
    if (document.activeElement?.id !== inputId && p.device !== undefined) {
      setText(String(p.device));
      setError(null);
    }
  }, [p.device]);
  const send = async (value) => {
    setConfirming(null);
    setError(null);
    setOk(null);
    try {
      await rpc('instrument.set', { id: inst, params: { [p.name]: value } });
      setOk(`set to ${fmt(value)}${p.unit ? ' ' + p.unit : ''}`);
      onDone();
    } catch (e) {
      setError(`${e.kind}: ${e.message}`);
    }
  };
  const submit = (ev) => {
    ev.preventDefault();
    const c = checkValue(p, text);
    if (c.error) { setOk(null); setError(c.error); return; }
    if (isAction) setConfirming(c.value);
    else void send(c.value);
  };
  const choices = p.type === 'boolean' ? ['true', 'false'] : p.values;
  const range = p.min !== undefined || p.max !== undefined ? `${p.min ?? ''}…${p.max ?? ''}` : '';
  return html`<tr class=${'param ' + (isAction ? 'action' : 'setpoint')} data-param=${p.name}>
    <td><label for=${inputId}>${p.name}</label>${isAction ? html` <span class="muted">(action)</span>` : ''}</td>
    <td>${p.device !== undefined ? fmt(p.device) : '—'}${p.unit ? ' ' + p.unit : ''}${p.drift ? html` <span class="drift" title="device differs from the config">drift (config ${fmt(p.configured)})</span>` : ''}</td>
    <td class="muted">${p.type}${range ? ` ${range}` : ''}${p.unit ? ` ${p.unit}` : ''}</td>
    <td><form onSubmit=${submit}>
      ${choices
        ? html`<select id=${inputId} value=${text} onChange=${(e) => setText(e.currentTarget.value)} disabled=${held}>${choices.map((c) => html`<option value=${c}>${c}</option>`)}</select>`
        : html`<input id=${inputId} type=${p.type === 'number' || p.type === 'integer' ? 'text' : 'text'} inputmode="decimal" value=${text} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${inputId + '-err'} onInput=${(e) => { setText(e.currentTarget.value); setError(null); }} />`}
      ${' '}<button type="submit" class=${isAction ? 'danger' : 'primary'} disabled=${held}>${isAction ? 'Do…' : 'Set'}</button>
      ${held ? html`<div class="err">held at ${fmt(held.value)} by ${held.holder}</div>` : ''}
      ${confirming !== null ? html`<div class="confirm" role="alertdialog">Set ${inst}.${p.name} = ${fmt(confirming)} on the device? <button type="button" class="danger" onClick=${() => send(confirming)}>Confirm</button> <button type="button" onClick=${() => setConfirming(null)}>Cancel</button></div>` : ''}
      <div id=${inputId + '-err'} class="err" role="alert">${error ?? ''}</div>
      ${ok ? html`<div class="okmsg">${ok}</div>` : ''}
    </form></td>
  </tr>`;
}

function Instrument({ inst, tick }) {
  const [detail, setDetail] = useState(null);
  const [msg, setMsg] = useState(null);
  const refresh = useCallback(() => rpc('instrument.get', { id: inst.id }).then(setDetail, (e) => setMsg(e.message)), [inst.id]);
  useEffect(() => { void refresh(); }, [inst.id, inst.state, tick]);
  const r = inst.lastReading;
  const holds = new Map((inst.holds ?? []).map((h) => [h.param, h]));
  const abort = async () => {
    try { const o = await rpc('instrument.abort', { id: inst.id }); setMsg(o.aborted ? 'aborted the operation in flight' : 'nothing was in flight'); } catch (e) { setMsg(e.message); }
  };
  return html`<section class="card instrument" data-instrument=${inst.id}>
    <div class="inst-head"><h3>${inst.id}</h3><span class=${'state ' + inst.state}>${inst.state}</span><span class="muted">${inst.driver} on ${inst.port}</span>
      <button type="button" onClick=${abort}>Abort</button></div>
    ${inst.lastError ? html`<div class="err">${typeof inst.lastError === 'string' ? inst.lastError : inst.lastError.message}</div>` : ''}
    ${r ? html`<div class="readings">${Object.entries(r.values).filter(([k]) => !k.endsWith('_unit')).map(([k, v]) => html`<span class="reading" data-reading=${k}>${k} <b>${fmt(v)}</b> ${r.units?.[k] ?? ''}</span>`)}</div>` : html`<div class="muted">no reading yet</div>`}
    ${Object.keys(inst.drift ?? {}).length ? html`<div class="drift">drift: ${Object.entries(inst.drift).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}</div>` : ''}
    ${msg ? html`<div class="muted">${msg}</div>` : ''}
    ${detail?.parameters?.length ? html`<table><thead><tr><th>parameter</th><th>device</th><th>type</th><th>set</th></tr></thead><tbody>
      ${detail.parameters.map((p) => html`<${ParamRow} key=${p.name} inst=${inst.id} p=${p} held=${p.kind === 'action' ? holds.get(p.name) : undefined} onDone=${refresh} />`)}
    </tbody></table>` : ''}
  </section>`;
}

function Modules({ modules, onChange }) {
  const [msg, setMsg] = useState(null);
  const reset = async (id) => { try { await rpc('module.reset', { id }); setMsg(`${id} reset`); onChange(); } catch (e) { setMsg(`${id}: ${e.message}`); } };
  return html`<section class="card"><h2>Modules</h2>
    ${modules.length === 0 ? html`<div class="muted">none</div>` : html`<table><tbody>${modules.map((m) => html`<tr data-module=${m.id}>
      <td><b>${m.id}</b> <span class="muted">${m.type}</span></td>
      <td><span class=${'state ' + (m.status?.tripped ? 'tripped' : m.state)}>${m.status?.tripped ? 'tripped' : m.state}</span>
        ${m.status?.tripped ? html`<div class="err">cause: ${m.status.cause}</div>` : ''}
        ${m.status?.alarm || m.status?.alarms?.length ? html`<div class="warn">alarm: ${JSON.stringify(m.status.alarm ?? m.status.alarms)}</div>` : ''}</td>
      <td><button type="button" onClick=${() => reset(m.id)}>Reset</button></td></tr>`)}</tbody></table>`}
    ${msg ? html`<div class="muted">${msg}</div>` : ''}</section>`;
}

function Reload({ status }) {
  const r = status?.lastReload;
  if (!r) return null;
  const errors = r.errors ?? r.issues ?? (r.error ? [r.error] : []);
  return html`<section class="card"><h2>Config file</h2>
    <div>last reload: <span class=${'state ' + (r.outcome === 'applied' ? 'ready' : 'error')}>${r.outcome}</span> <span class="muted">${r.source}, ${new Date(r.at).toLocaleTimeString()}</span></div>
    ${r.summary ? html`<div class="muted">${r.summary}</div>` : ''}
    ${errors.map((e) => html`<div class="err">${typeof e === 'string' ? e : `${e.message ?? JSON.stringify(e)}${e.line ? ` (line ${e.line})` : ''}`}</div>`)}
  </section>`;
}

function Versions() {
  const [list, setList] = useState(null);
  const [out, setOut] = useState(null);
  const load = () => rpc('version.list').then(setList, () => setList(false));
  useEffect(() => { void load(); }, []);
  if (list === false) return null;
  const diff = async (id) => { try { const d = await rpc('version.diff', { a: id }); setOut(typeof d === 'string' ? d : d.diff ?? JSON.stringify(d, null, 2)); } catch (e) { setOut(e.message); } };
  const rollback = async (id) => {
    try {
      const plan = await rpc('version.rollback', { id, dryRun: true });
      if (!confirm(`Roll back to ${id}?\n\n${plan.summary ?? JSON.stringify(plan).slice(0, 400)}`)) return;
      const r = await rpc('version.rollback', { id });
      setOut(`rolled back: ${r.summary ?? JSON.stringify(r)}`);
      void load();
    } catch (e) { setOut(`${e.kind}: ${e.message}`); }
  };
  return html`<section class="card"><h2>Config versions</h2>
    ${list?.versions?.length ? html`<table><tbody>${list.versions.slice(0, 15).map((v) => html`<tr><td>${v.id}${v.label ? html` <b>${v.label}</b>` : ''}<div class="muted">${v.cause ?? ''} ${v.summary ?? ''}</div></td>
      <td><button type="button" onClick=${() => diff(v.id)}>Diff</button> <button type="button" onClick=${() => rollback(v.id)}>Rollback…</button></td></tr>`)}</tbody></table>` : html`<div class="muted">no versions yet</div>`}
    ${out ? html`<pre class="diff">${out}</pre>` : ''}</section>`;
}

function History() {
  const [h, setH] = useState(null);
  const [msg, setMsg] = useState(null);
  const load = () => rpc('history.list', { limit: 20 }).then(setH, () => setH(false));
  useEffect(() => { void load(); const t = setInterval(load, 5000); return () => clearInterval(t); }, []);
  if (!h) return null; // the method is not there (older daqd): no panel
  const revert = async (id) => { try { await rpc('history.revert', { change: id }); setMsg(`reverted ${id}`); void load(); } catch (e) { setMsg(`${e.kind}: ${e.message}`); } };
  return html`<section class="card"><h2>History</h2>
    ${h.entries?.length ? html`<table><tbody>${h.entries.map((e) => html`<tr><td class="muted">${new Date(e.time ?? e.at ?? e.ts).toLocaleTimeString()}</td><td>${e.instrument}.${e.param ?? Object.keys(e.new ?? {}).join(',')}</td><td>${fmt(e.old ?? '')} → ${fmt(e.new ?? e.value ?? '')}</td><td class="muted">${e.source ?? e.origin ?? ''}</td><td><button type="button" onClick=${() => revert(e.id)}>Revert</button></td></tr>`)}</tbody></table>` : html`<div class="muted">no changes yet</div>`}
    ${msg ? html`<div class="muted">${msg}</div>` : ''}</section>`;
}

function PlanView() {
  // The dry run of `daqctl apply FILE --dry-run`: what a config fragment would change, touching nothing.
  const [toml, setToml] = useState('');
  const [out, setOut] = useState(null);
  const plan = async (ev) => {
    ev.preventDefault();
    try {
      const r = await rpc('tx.plan', { toml });
      setOut(r.ok ? `${r.plan?.summary ?? 'no change'}\n\n${JSON.stringify(r.plan, null, 2)}` : `problems:\n${(r.problems ?? []).map((p) => (typeof p === 'string' ? p : `${p.line ? `line ${p.line}: ` : ''}${p.path ? `${Array.isArray(p.path) ? p.path.join('.') : p.path}: ` : ''}${p.message ?? JSON.stringify(p)}`)).join('\n')}`);
    } catch (e) { setOut(`${e.kind}: ${e.message}`); }
  };
  return html`<section class="card"><h2>Plan a change (dry run)</h2>
    <form onSubmit=${plan}><label for="plan-toml" class="muted">a config fragment (TOML), as for daqctl apply --dry-run</label>
      <textarea id="plan-toml" rows="4" style="width:100%;font-family:monospace" value=${toml} onInput=${(e) => setToml(e.currentTarget.value)}></textarea>
      <button id="plan-go" type="submit">Plan</button></form>
    ${out ? html`<pre class="diff">${out}</pre>` : ''}</section>`;
}

function App() {
  const [connected, setConnected] = useState(false);
  const [instruments, setInstruments] = useState([]);
  const [modules, setModules] = useState([]);
  const [status, setStatus] = useState(null);
  const [tick, setTick] = useState(0);
  const [isPaused, setPaused] = useState(false);
  const [win, setWin] = useState(60);
  const [, setPlots] = useState(0);
  const refresh = useCallback(async () => {
    try {
      const [l, m, s] = await Promise.all([rpc('instrument.list'), rpc('module.list'), rpc('daemon.status')]);
      setInstruments(l.instruments);
      setModules(m.modules);
      setStatus(s);
    } catch {
      /* the connection indicator says it */
    }
  }, []);
  useEffect(() => {
    let es;
    let timer;
    let pending = 0;
    let flush = 0;
    const latest = new Map();
    const soon = () => { if (!pending) pending = setTimeout(() => { pending = 0; void refresh(); setTick((t) => t + 1); }, 250); };
    const open = () => {
      es = new EventSource('/events' + QS);
      es.onopen = () => setConnected(true);
      es.onerror = () => setConnected(false);
      es.onmessage = (m) => {
        const ev = JSON.parse(m.data);
        if (ev.type === 'reading') {
          const had = series.size;
          for (const key of pushReading(ev)) notify(key);
          if (series.size !== had) setPlots(series.size);
          // The cards' last readings: at most 4 renders a second, however many readings arrive.
          latest.set(ev.instrument, { seq: ev.seq, ts: ev.ts, values: ev.values, units: ev.units });
          if (!flush) flush = setTimeout(() => {
            flush = 0;
            const got = new Map(latest);
            latest.clear();
            setInstruments((list) => list.map((i) => (got.has(i.id) ? { ...i, lastReading: got.get(i.id) } : i)));
          }, 250);
        } else if (ev.type === 'stream.open') {
          // A new stream (first load, or daqd restarted): everything may have changed.
          setConnected(true);
          soon();
        } else if (ev.type !== 'daemon.heartbeat') soon();
      };
    };
    open();
    timer = setInterval(refresh, 3000);
    return () => { es?.close(); clearInterval(timer); };
  }, []);
  useEffect(() => { paused = isPaused; windowS = win; notifyAll(); }, [isPaused, win]);
  const trouble = status?.trouble;
  return html`<header>
      <h1>daqd</h1>
      <span class=${'conn ' + (connected ? 'up' : 'down')} role="status" aria-live="polite">${connected ? 'connected' : 'reconnecting…'}</span>
      ${status ? html`<span class="meta">v${status.version} · revision ${status.revision} · ${status.instruments.ready}/${status.instruments.total} ready · ${status.configPath}</span>` : ''}
      ${trouble?.interlocks?.length ? html`<span class="meta" style="color:#fca5a5">interlock tripped: ${trouble.interlocks.map((i) => `${i.module} (${i.cause})`).join(', ')}</span>` : ''}
    </header>
    <main>
      <div>
        <section class="card"><h2>Live readings</h2>
          <div class="toolbar">
            <label>window <select value=${win} onChange=${(e) => setWin(Number(e.currentTarget.value))}>${[10, 30, 60, 300, 600].map((s) => html`<option value=${s}>${s < 60 ? s + ' s' : s / 60 + ' min'}</option>`)}</select></label>
            <label><input type="checkbox" checked=${isPaused} onChange=${(e) => setPaused(e.currentTarget.checked)} /> pause</label>
          </div>
          <div class="plots">${[...series.keys()].map((k) => html`<${Plot} key=${k} id=${k} />`)}</div>
        </section>
        ${instruments.map((i) => html`<${Instrument} key=${i.id} inst=${i} tick=${tick} />`)}
      </div>
      <div>
        <${Modules} modules=${modules} onChange=${refresh} />
        <${Reload} status=${status} />
        <${Versions} />
        <${History} />
        <${PlanView} />
      </div>
    </main>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the no-JavaScript note
render(h(App, null), root);
