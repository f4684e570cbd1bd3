/**
 * The HTTP framing of the one dispatcher (docs/http.md): `POST /rpc` (JSON-RPC 2.0, the socket's
 * methods, errors, limits and safety rules), `GET /events` (server-sent events, one multiplexed stream
 * per page, `Last-Event-ID` resume), and the dashboard's static files at `/`.
 *
 * Safety: on loopback, the Host header must name loopback (no DNS rebinding); off loopback, a token
 * (state dir, mode 0600, `daqctl http-token`) is required on every request (`Authorization: Bearer`,
 * or `?token=` where a browser cannot set headers: EventSource, module scripts). No cookies at all,
 * so there is nothing for another site to ride on; a request whose Origin is not this server is refused,
 * and POST /rpc takes only `application/json` (a cross-site form cannot send it without a preflight,
 * which daqd never approves).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Daemon } from '../../core/daemon.js';
import { Dispatcher } from '../../rpc/dispatcher.js';
import type { ClientStats } from '../../rpc/connection.js';
import { errorResponse } from '../../rpc/jsonrpc.js';
import type { MethodMap } from '../../rpc/methods/types.js';
import { oneShotSession, type SubscriptionFilter } from '../../rpc/session.js';
import { DaqError } from '../../errors.js';
import { EventStreams } from './sse.js';
import { resolveStatic, serveFile } from './static.js';
import { ensureToken, isLoopbackHost, tokenMatches, tokenPath } from './token.js';

export interface HttpSettings {
  enabled: boolean;
  host: string;
  port: number;
  require_token: boolean;
  max_body_bytes: number;
  event_ring: number;
  allowed_origins: string[];
}

export const HTTP_DEFAULTS: HttpSettings = { enabled: true, host: '127.0.0.1', port: 8480, require_token: false, max_body_bytes: 1024 * 1024, event_ring: 4096, allowed_origins: [] };

export interface HttpServiceOptions {
  daemon: Daemon;
  methods: MethodMap;
  log: Logger;
  stateDir: string;
  settings: Partial<HttpSettings> | undefined;
  clientStats?: () => ClientStats;
  heartbeatMs?: number;
}

export class HttpService {
  private server: Server | null = null;
  private streams: EventStreams | null = null;
  private readonly dispatcher: Dispatcher;
  private readonly settings: HttpSettings;
  private token: string | null = null;
  private boundPort: number | null = null;
  private fellBack = false;
  private requests = 0;
  private refused = 0;

  constructor(private readonly options: HttpServiceOptions) {
    this.settings = { ...HTTP_DEFAULTS, ...(options.settings ?? {}) };
    this.dispatcher = new Dispatcher(options.daemon, options.methods, options.log, options.clientStats);
  }

  get loopback(): boolean {
    return isLoopbackHost(this.settings.host);
  }

  get url(): string | null {
    if (this.boundPort === null) return null;
    const h = this.settings.host.includes(':') ? `[${this.settings.host}]` : this.settings.host;
    return `http://${h}:${this.boundPort}/`;
  }

  /** Listen; the configured port taken means a free one (logged, and in daemon.status). */
  async start(): Promise<void> {
    if (!this.settings.enabled) return;
    if (!this.loopback || this.settings.require_token) this.token = await ensureToken(this.options.stateDir);
    this.streams = new EventStreams(this.options.daemon.events, this.options.log, this.settings.event_ring, this.options.heartbeatMs ?? 15_000);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.options.log.error({ err }, 'http: a request failed');
        if (!res.headersSent) this.plain(res, 500, 'internal error in daqd (see the daemon log)');
        else res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
    try {
      await this.listenOn(server, this.settings.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || this.settings.port === 0) throw err;
      await this.listenOn(server, 0);
      this.fellBack = true;
    }
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    const msg = this.fellBack
      ? `dashboard and HTTP API on ${this.url} (port ${this.settings.port} was taken, so a free one was chosen)`
      : `dashboard and HTTP API on ${this.url}`;
    if (this.fellBack) this.options.log.warn({ url: this.url }, msg);
    else this.options.log.info({ url: this.url }, msg);
  }

  private listenOn(server: Server, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen({ host: this.settings.host, port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  private plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(text + '\n');
  }

  private refuse(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    this.refused++;
    this.plain(res, status, text, headers);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    const host = req.headers.host ?? '';
    const url = new URL(req.url ?? '/', 'http://daqd.invalid');
    // DNS rebinding: a page on evil.example that resolves to 127.0.0.1 still says Host: evil.example.
    if (this.loopback && !isLoopbackHost(host.replace(/:\d+$/, ''))) {
      return this.refuse(res, 403, 'refused: the Host header does not name this machine (loopback)');
    }
    if (this.token !== null) {
      const auth = req.headers.authorization;
      const given = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : (url.searchParams.get('token') ?? undefined);
      if (!tokenMatches(given, this.token)) {
        return this.refuse(res, 401, 'a token is required: Authorization: Bearer <token> or ?token=<token> (daqctl http-token prints it)', { 'www-authenticate': 'Bearer realm="daqd"' });
      }
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}` && !this.settings.allowed_origins.includes(origin)) {
      return this.refuse(res, 403, `refused: a request from another origin (${origin})`);
    }
    if (url.pathname === '/rpc') {
      if (req.method !== 'POST') return this.refuse(res, 405, 'POST a JSON-RPC 2.0 request to /rpc', { allow: 'POST' });
      return this.rpc(req, res);
    }
    if (url.pathname === '/events') {
      if (req.method !== 'GET') return this.refuse(res, 405, 'GET /events', { allow: 'GET' });
      return this.events(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.refuse(res, 405, 'only GET here', { allow: 'GET, HEAD' });
    const file = resolveStatic(url.pathname);
    const token = this.token;
    const served = file && (await serveFile(res, file, req.method === 'HEAD', (text) => text.replaceAll('{{TOKEN_QS}}', token ? `?token=${encodeURIComponent(token)}` : '')));
    if (!served) this.plain(res, 404, 'not found');
  }

  private async rpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      return this.refuse(res, 415, 'send the request as Content-Type: application/json');
    }
    const limit = this.settings.max_body_bytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      res.setHeader('connection', 'close');
      this.refuse(res, 413, `request body larger than ${limit} bytes`);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const body = await new Promise<string | null>((resolve, reject) => {
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          req.pause();
          resolve(null);
        } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
    if (body === null) {
      res.setHeader('connection', 'close');
      this.refuse(res, 413, `request body larger than ${limit} bytes`);
      return;
    }
    const session = oneShotSession('http', 'GET /events is the event stream');
    const out = body.trim() === '' ? errorResponse(null, new DaqError('invalid_request', 'empty body: POST one JSON-RPC 2.0 request or a batch')) : await this.dispatcher.handleText(body, session);
    if (out === undefined) {
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(out);
    } catch (err) {
      this.options.log.error({ err }, 'bug: a response could not be serialised');
      text = JSON.stringify(errorResponse(null, new DaqError('internal_error', 'internal error in daqd (see the daemon log for details)')));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const list = (name: string) => {
      const v = url.searchParams.get(name);
      return v ? v.split(',').filter(Boolean) : undefined;
    };
    const filter: SubscriptionFilter = {};
    const types = list('types');
    const instruments = list('instruments');
    if (types) filter.types = types;
    if (instruments) filter.instruments = instruments;
    const last = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? undefined;
    const lastId = last !== undefined && /^\d+$/.test(String(last)) ? Number(last) : undefined;
    this.streams!.open(res, filter, lastId);
  }

  status() {
    if (!this.settings.enabled) return { enabled: false };
    return {
      enabled: true,
      url: this.url,
      host: this.settings.host,
      port: this.boundPort,
      configuredPort: this.settings.port,
      ...(this.fellBack ? { portWasTaken: true } : {}),
      tokenRequired: this.token !== null,
      ...(this.token !== null ? { tokenFile: tokenPath(this.options.stateDir) } : {}),
      requests: this.requests,
      refused: this.refused,
      ...(this.streams ? this.streams.stats() : {}),
    };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.streams?.close();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
