/**
 * The Streamable HTTP entry (`/mcp`). Two modes on one endpoint:
 *  - sessions (mcp/http-sessions.ts): an `initialize` request opens one; the client then sends
 *    `Mcp-Session-Id`, opens the GET SSE stream for notifications (resource subscriptions) and may
 *    resume it with `Last-Event-ID`; DELETE ends it. This is what the SDK's client does by itself.
 *  - stateless: any other request without `Mcp-Session-Id` gets a transport for that request only, and
 *    a server of its principal kept for reuse (mcp/stateless-servers.ts), so tool-only clients need no
 *    session and any instance can answer them.
 * In order, a request must
 *  - name an allowed Host and, when it sends one, an allowed Origin (DNS rebinding protection);
 *  - authenticate;
 *  - fit its body under the cap, and into the process's budget of body bytes being buffered, which it
 *    holds until its response ends.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { AuthError, type Authenticate } from '../app/auth.js';
import type { EventHub } from '../app/event-hub.js';
import type { Principal } from '../app/principal.js';
import type { Readiness } from '../app/readiness.js';
import { isLoopbackHost } from '../core/config.js';
import { ErrorType } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import type { Logger } from '../core/logger.js';
import type { ToolContext } from './context.js';
import {
  newSessionId,
  type Session,
  SessionEventStore,
  SessionRegistry,
  tokenHash,
} from './http-sessions.js';
import { handleInbound, type InboundHttp } from './inbound-http.js';
import { createMcpServer } from './server.js';
import { StatelessServers } from './stateless-servers.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  authenticate: Authenticate;
  contextFor: (principal: Principal) => ToolContext;
  /** Host names (no port) accepted besides the loopback names a loopback listener accepts. */
  allowedHosts: string[];
  /** Origins accepted besides localhost ones on a loopback listener. */
  allowedOrigins: string[];
  maxBodyBytes: number;
  /** Body bytes buffered at once over all requests; a request that would exceed it gets 503. */
  maxBodyBytesInFlight: number;
  /** `GET /readyz`: whether the database, Temporal and storage answer (app/readiness.ts). */
  readiness: () => Promise<Readiness>;
  /** POST /inbound/<provider>: inbound-parse webhooks (mcp/inbound-http.ts); absent, those paths are 404. */
  inbound?: InboundHttp;
  sessions: { max: number; idleMs: number; keepAliveMs: number; replayMessages: number };
  /** The process's outbox reader, for sessions' resource subscriptions. */
  events?: EventHub;
  log: Logger;
}

export interface RunningHttpServer {
  url: string;
  /** Body bytes currently held by requests (buffered, or parsed and being served). */
  bodyBytesInFlight(): number;
  /** Streamable HTTP sessions open now. */
  sessionCount(): number;
  /** Servers for stateless requests: idle now, and built since the start (mcp/stateless-servers.ts). */
  statelessServers(): { idle: number; built: number };
  close(): Promise<void>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
/** Idle stateless servers kept over all principals (each holds every tool's registration). */
const STATELESS_IDLE_SERVERS = 32;
/** Seconds a client refused for lack of body budget should wait: long enough for a big body to pass. */
const BUSY_RETRY_AFTER_SECONDS = 5;
/** Seconds a client refused because the database is down should wait: a restart takes a few. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Bytes of request bodies held at once, over every request this server serves. */
class ByteBudget {
  private held = 0;
  constructor(readonly limit: number) {}
  get inFlight(): number {
    return this.held;
  }
  tryTake(bytes: number): boolean {
    if (this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }
  give(bytes: number): void {
    this.held -= bytes;
  }
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const guard = hostGuard(opts);
  const budget = new ByteBudget(opts.maxBodyBytesInFlight);
  const sessions = new SessionRegistry(opts.sessions.max, opts.sessions.idleMs);
  const stateless = new StatelessServers(
    (principal) => createMcpServer(opts.contextFor(principal)),
    STATELESS_IDLE_SERVERS,
  );
  const server = createServer((req, res) => {
    handle(req, res, opts, guard, budget, sessions, stateless).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'internal error');
      if (e.status === 500) opts.log.error('MCP HTTP request failed', { error: err });
      const headers = { ...e.headers };
      if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="durable-inbox"';
      sendJson(res, e.status, { error: e.code, message: e.message }, headers);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/mcp`,
    bodyBytesInFlight: () => budget.inFlight,
    sessionCount: () => sessions.size,
    statelessServers: () => stateless.counts,
    close: async () => {
      await sessions.closeAll();
      await stateless.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HttpServerOptions,
  guard: (req: IncomingMessage) => void,
  budget: ByteBudget,
  sessions: SessionRegistry,
  stateless: StatelessServers,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  // Probes, before the Host guard: an orchestrator calls them by the container's address.
  if (path === '/healthz') return sendJson(res, 200, { ok: true });
  if (path === '/readyz') {
    const readiness = await opts.readiness();
    return sendJson(res, readiness.ready ? 200 : 503, readiness, { 'cache-control': 'no-store' });
  }
  // Before authentication: a rebound browser page must learn nothing, not even that a token is wrong.
  guard(req);
  if (path.startsWith('/inbound/') && opts.inbound) {
    const answer = await handleInbound(req, path, opts.inbound, (max) =>
      readBody(req, max, holdBody(res, budget)),
    );
    sendJson(res, answer.status, answer.body, answer.headers);
    return answer.after?.();
  }
  if (path !== '/mcp') throw new HttpError(404, 'not_found', 'not found: the MCP endpoint is POST /mcp');

  let principal: Principal;
  try {
    principal = await opts.authenticate(req.headers.authorization);
  } catch (err) {
    if (err instanceof AuthError) throw new HttpError(401, 'unauthorized', err.message);
    throw databaseDown(err) ?? err;
  }
  // The request holds its body bytes until its response ends: the parsed arguments live that long.
  const take = holdBody(res, budget);

  const sessionId = req.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    const session = sessions.find(sessionId, req.headers.authorization);
    if (!session) {
      throw new HttpError(
        404,
        'session_not_found',
        'no such session for this token: send initialize to open a new one',
      );
    }
    if (req.method === 'GET') return serveStream(session, req, res, opts.sessions.keepAliveMs);
    if (req.method === 'DELETE') return session.transport.handleRequest(req, res);
    if (req.method !== 'POST') throw notAllowed();
    return session.transport.handleRequest(req, res, await readJsonBody(req, opts.maxBodyBytes, take));
  }
  if (req.method === 'GET' || req.method === 'DELETE') {
    throw new HttpError(
      400,
      'session_required',
      `${req.method} /mcp needs an Mcp-Session-Id: send initialize first`,
    );
  }
  if (req.method !== 'POST') throw notAllowed();

  const body = await readJsonBody(req, opts.maxBodyBytes, take);
  if (isInitializeRequest(body))
    return openSession(opts.contextFor(principal), req, res, body, opts, sessions);

  // Stateless: a transport for this request only, on a server of this principal kept for reuse. Closing
  // the transport detaches it (a handler still running answers to its own, closed transport).
  const { server: mcp, release } = stateless.take(principal);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close().then(release, () => void mcp.close());
  });
  await mcp.connect(transport);
  await transport.handleRequest(req, res, body);
}

async function openSession(
  ctx: ToolContext,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  opts: HttpServerOptions,
  sessions: SessionRegistry,
): Promise<void> {
  if (sessions.size >= sessions.max) {
    throw new HttpError(
      503,
      'server_busy',
      `the server holds its maximum of ${sessions.max} sessions (MCP_MAX_SESSIONS); retry after ${BUSY_RETRY_AFTER_SECONDS} s`,
      { 'retry-after': String(BUSY_RETRY_AFTER_SECONDS) },
    );
  }
  const server = createMcpServer(ctx, { hub: opts.events });
  const hash = tokenHash(req.headers.authorization);
  let session: Session | undefined;
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: newSessionId,
    eventStore: new SessionEventStore(opts.sessions.replayMessages),
    onsessioninitialized: (id) => {
      session = { id, transport, server, tokenHash: hash, lastSeen: Date.now(), streams: 0 };
      sessions.add(session);
    },
    onsessionclosed: (id) => {
      sessions.remove(id);
      void server.close();
    },
  });
  transport.onclose = () => {
    if (session) sessions.remove(session.id);
  };
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

/** The session's GET SSE stream, with a comment every keepAliveMs so proxies keep it open. */
async function serveStream(
  session: Session,
  req: IncomingMessage,
  res: ServerResponse,
  keepAliveMs: number,
): Promise<void> {
  session.streams++;
  const timer = setInterval(() => {
    if (res.headersSent && !res.writableEnded) res.write(': keep-alive\n\n');
  }, keepAliveMs);
  res.once('close', () => {
    clearInterval(timer);
    session.streams--;
    session.lastSeen = Date.now();
  });
  await session.transport.handleRequest(req, res);
}

function notAllowed(): HttpError {
  return new HttpError(
    405,
    'method_not_allowed',
    'the MCP endpoint takes POST, GET (a session stream) and DELETE',
    {
      allow: 'POST, GET, DELETE',
    },
  );
}

/**
 * DNS rebinding protection (MCP spec, transports: servers MUST validate Origin; Host too). A loopback
 * listener answers the loopback names; MCP_ALLOWED_HOSTS adds names, and is the only list on any other
 * listener (config refuses to start without it). Origin is optional (non-browser clients send none);
 * when present it must be listed in MCP_ALLOWED_ORIGINS, or be a localhost origin on a loopback listener.
 */
function hostGuard(opts: HttpServerOptions): (req: IncomingMessage) => void {
  const loopback = isLoopbackHost(opts.host);
  const hosts = new Set([...(loopback ? LOOPBACK_NAMES : []), ...opts.allowedHosts]);
  const origins = new Set(opts.allowedOrigins);
  const accepted = [...hosts].join(', ');
  return (req) => {
    const host = req.headers.host ?? '';
    const hostname = hostnameOf(`http://${host}`);
    if (!hostname || !hosts.has(hostname)) {
      throw new HttpError(
        403,
        'forbidden_host',
        `Host ${JSON.stringify(host)} is not allowed: this server answers ${accepted || 'no host name'}; add the name to MCP_ALLOWED_HOSTS to allow it`,
      );
    }
    const origin = req.headers.origin;
    if (origin === undefined) return;
    let normalised: string | null = null;
    try {
      normalised = new URL(origin).origin;
    } catch {}
    const localOrigin = loopback && LOOPBACK_NAMES.includes(hostnameOf(origin) ?? '');
    if (!normalised || !(origins.has(normalised) || localOrigin)) {
      throw new HttpError(
        403,
        'forbidden_origin',
        `Origin ${JSON.stringify(origin)} is not allowed; add it to MCP_ALLOWED_ORIGINS to allow it`,
      );
    }
  };
}

/** The hostname of a URL as a Host header spells it (IPv6 in brackets), or null. */
function hostnameOf(url: string): string | null {
  try {
    const { hostname, protocol } = new URL(url);
    return /^https?:$/.test(protocol) && hostname ? hostname : null;
  } catch {
    return null;
  }
}

/** The request holds its body bytes until its response ends: the parsed arguments live that long. */
function holdBody(res: ServerResponse, budget: ByteBudget): (bytes: number, total: number) => void {
  let held = 0;
  res.once('close', () => {
    budget.give(held);
    held = 0;
  });
  return (bytes, total) => {
    if (!budget.tryTake(bytes)) throw busy(total, budget.limit);
    held += bytes;
  };
}

async function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
  take: (bytes: number, total: number) => void,
): Promise<unknown> {
  const text = (await readBody(req, maxBytes, take)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
  }
}

/**
 * Read the body, taking its bytes from the budget: all of a declared Content-Length up front (Node
 * stops the body there), else chunk by chunk. On refusal it stops reading and the response closes
 * the connection, so the rest of the body is never buffered.
 */
function readBody(
  req: IncomingMessage,
  maxBytes: number,
  take: (bytes: number, total: number) => void,
): Promise<Buffer> {
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  if (declared !== null && declared > maxBytes) throw tooLarge(maxBytes);
  if (declared !== null) take(declared, declared);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: unknown) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return stop(tooLarge(maxBytes));
      if (declared === null) {
        try {
          take(chunk.length, size);
        } catch (err) {
          return stop(err);
        }
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      req.off('close', onClose);
      resolve(Buffer.concat(chunks, size));
      chunks.length = 0;
    };
    const onClose = () => stop(new HttpError(400, 'aborted', 'the request body ended early'));
    req.on('data', onData).once('end', onEnd).once('close', onClose);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the request body is over ${maxBytes} bytes`, {
    connection: 'close',
  });
}

/**
 * The key or token could not be checked because the database is down: 503 with Retry-After, and the
 * type a tool caller would read, not 401 (the credentials may be fine) or 500 (nothing is broken here).
 */
function databaseDown(err: unknown): HttpError | undefined {
  const { type, message } = describeFailure(err);
  if (type !== ErrorType.DatabaseUnavailable) return undefined;
  return new HttpError(503, 'database_unavailable', `${type}: ${message}`, {
    'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
  });
}

function busy(bytes: number, limit: number): HttpError {
  return new HttpError(
    503,
    'server_busy',
    `the server is buffering other request bodies: this one (${bytes} bytes) would take it over MCP_MAX_BODY_BYTES_IN_FLIGHT (${limit} bytes); retry after ${BUSY_RETRY_AFTER_SECONDS} s`,
    { 'retry-after': String(BUSY_RETRY_AFTER_SECONDS), connection: 'close' },
  );
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
