/**
 * The Streamable HTTP entry (`POST /mcp`), stateless: each request gets its own server and transport,
 * so any number of instances can sit behind a load balancer. Every request must authenticate; the
 * request body is capped before it is parsed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AuthError, type Authenticate } from '../app/auth.js';
import type { Principal } from '../app/principal.js';
import type { Logger } from '../core/logger.js';
import type { ToolContext } from './context.js';
import { createMcpServer } from './server.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  authenticate: Authenticate;
  contextFor: (principal: Principal) => ToolContext;
  maxBodyBytes: number;
  log: Logger;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'internal error');
      if (e.status === 500) opts.log.error('MCP HTTP request failed', { error: err });
      sendJson(res, e.status, { error: e.code, message: e.message }, e.status === 401);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/healthz') return sendJson(res, 200, { ok: true });
  if (path !== '/mcp') throw new HttpError(404, 'not_found', 'not found: the MCP endpoint is POST /mcp');

  let principal: Principal;
  try {
    principal = await opts.authenticate(req.headers.authorization);
  } catch (err) {
    if (err instanceof AuthError) throw new HttpError(401, 'unauthorized', err.message);
    throw err;
  }
  if (req.method !== 'POST') {
    // Stateless server: no standalone SSE stream (GET) and no sessions to delete (DELETE).
    res.setHeader('Allow', 'POST');
    throw new HttpError(405, 'method_not_allowed', 'this server is stateless: use POST /mcp');
  }

  const body = await readJsonBody(req, opts.maxBodyBytes);
  const mcp = createMcpServer(opts.contextFor(principal));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void mcp.close();
  });
  await mcp.connect(transport);
  await transport.handleRequest(req, res, body);
}

async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the request body is over ${maxBytes} bytes`);
}

function sendJson(res: ServerResponse, status: number, body: unknown, challenge = false): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (challenge) headers['www-authenticate'] = 'Bearer realm="durable-inbox"';
  res.writeHead(status, headers).end(JSON.stringify(body));
}
