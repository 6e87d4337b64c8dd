/**
 * The Streamable HTTP entry follows the MCP spec's security rules, checked with real HTTP requests that
 * set Host and Origin themselves: DNS rebinding protection, a body cap that fits the largest tool
 * payload, and a bound on request-body bytes held in memory.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { toMboxEntry } from '../../core/mbox.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { runCli, startTestStack, testEnv } from '../support/harness.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

const KiB = 1024;
const MiB = 1024 * KiB;
// Small limits so that bodies at the limits stay cheap: a mailbox upload (1 MiB) is the largest payload.
const LIMITS = {
  MAX_EMAIL_BYTES: String(256 * KiB),
  MAX_INLINE_UPLOAD_BYTES: String(256 * KiB),
  MAX_MAILBOX_UPLOAD_BYTES: String(MiB),
  MCP_MAX_BODY_BYTES_IN_FLIGHT: String(3 * MiB),
};
/** ceil(1 MiB × 1.4) + 64 KiB: the base64 mailbox plus the JSON-RPC envelope. */
const BODY_CAP = Math.ceil(MiB * 1.4) + 64 * KiB;
const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

function readReply(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const json = res.headers['content-type']?.startsWith('application/json');
      resolve({ status: res.statusCode!, headers: res.headers, body: json ? JSON.parse(text) : text });
    });
  });
}

/** One HTTP request with exactly these headers (Host included), the body written in one go. */
function send(
  url: string,
  headers: Record<string, string>,
  body: string | null = TOOLS_LIST,
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
    });
    req.on('response', (res) => readReply(res).then(resolve, reject));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** A request whose headers are sent and whose body is not (yet): it holds its place on the server. */
function openBody(url: string, headers: Record<string, string>) {
  const req = http.request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
  });
  const reply = new Promise<Reply>((resolve, reject) => {
    req.on('response', (res) => readReply(res).then(resolve, reject));
    // Once the server has answered (and closed), writing more may fail: the answer is what counts.
    req.on('error', (err) => reject(err));
  });
  reply.catch(() => {});
  req.flushHeaders();
  return { req, reply };
}

/** A valid tools/list request of exactly `bytes` bytes. */
function paddedToolsList(bytes: number): string {
  const empty = JSON.stringify({
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/list',
    params: { _meta: { pad: '' } },
  });
  return empty.replace('"pad":""', `"pad":"${'x'.repeat(bytes - empty.length)}"`);
}

function hostOf(url: string): string {
  return new URL(url).host;
}

describe('MCP over HTTP: the spec security rules', () => {
  let stack: Stack;
  let server: RunningHttpServer;
  let env: Record<string, string>;
  let apiKey: string;
  let bearer: Record<string, string>;

  beforeAll(async () => {
    env = testEnv({
      MCP_HTTP_PORT: '0',
      AI_ANALYSIS_ON_INGEST: 'false',
      ...LIMITS,
    });
    stack = await startTestStack(env);
    apiKey = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'security-test', apiKey);
    bearer = { authorization: `Bearer ${apiKey}` };
    server = await startMcpHttp(stack, createLogger('warn'));
  });
  afterAll(async () => {
    await server?.close();
    await stack?.shutdown();
  });

  describe('DNS rebinding', () => {
    it('refuses a foreign Host with 403 before authentication, naming the setting that opens it', async () => {
      const forbidden = {
        error: 'forbidden_host',
        message:
          'Host "rebind.evil.example" is not allowed: this server answers localhost, 127.0.0.1, [::1]; add the name to MCP_ALLOWED_HOSTS to allow it',
      };
      const withKey = await send(server.url, { ...bearer, host: 'rebind.evil.example' });
      expect(withKey).toMatchObject({ status: 403, body: forbidden });
      const withPort = await send(server.url, { ...bearer, host: 'rebind.evil.example:8787' });
      expect(withPort.status).toBe(403);
      // No token either: still 403, not 401, so a rebound page learns nothing about authentication.
      const anonymous = await send(server.url, { host: 'rebind.evil.example' });
      expect(anonymous).toMatchObject({ status: 403, body: forbidden });
      // Names that merely contain a local name are foreign too.
      expect((await send(server.url, { ...bearer, host: 'localhost.evil.example' })).status).toBe(403);
      expect((await send(server.url, { ...bearer, host: '127.0.0.1.nip.io' })).status).toBe(403);
    });

    it('refuses a foreign Origin with 403, and accepts none or a localhost one', async () => {
      const local = hostOf(server.url);
      const evil = await send(server.url, { ...bearer, host: local, origin: 'http://rebind.evil.example' });
      expect(evil).toMatchObject({
        status: 403,
        body: {
          error: 'forbidden_origin',
          message:
            'Origin "http://rebind.evil.example" is not allowed; add it to MCP_ALLOWED_ORIGINS to allow it',
        },
      });
      expect((await send(server.url, { host: local, origin: 'null' })).status).toBe(403);

      const port = new URL(server.url).port;
      for (const host of [local, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST', '127.0.0.1']) {
        expect((await send(server.url, { ...bearer, host })).status, host).toBe(200);
      }
      for (const origin of ['http://localhost:6274', 'http://127.0.0.1:3000', 'https://[::1]']) {
        expect((await send(server.url, { ...bearer, host: local, origin })).status, origin).toBe(200);
      }
    });

    it('keeps /healthz open to any Host', async () => {
      const health = await send(
        server.url.replace('/mcp', '/healthz'),
        { host: 'rebind.evil.example' },
        null,
        'GET',
      );
      expect(health).toMatchObject({ status: 200, body: { ok: true } });
    });

    it('opens exactly the names and origins of MCP_ALLOWED_HOSTS and MCP_ALLOWED_ORIGINS', async () => {
      const { mcp } = loadConfig(
        testEnv({
          ...LIMITS,
          MCP_HTTP_PORT: '0',
          MCP_ALLOWED_HOSTS: 'Inbox.Example.com, mcp.internal',
          MCP_ALLOWED_ORIGINS: 'https://app.example.com',
        }),
      );
      const deployed = await startMcpHttp(
        { ...stack, config: { ...stack.config, mcp } },
        createLogger('warn'),
      );
      try {
        for (const host of ['inbox.example.com', 'inbox.example.com:443', 'mcp.internal:8787', 'localhost']) {
          expect((await send(deployed.url, { ...bearer, host })).status, host).toBe(200);
        }
        const app = await send(deployed.url, {
          ...bearer,
          host: 'inbox.example.com',
          origin: 'https://app.example.com',
        });
        expect(app.status).toBe(200);
        for (const origin of ['https://app.example.com.evil.example', 'http://app.example.com']) {
          const res = await send(deployed.url, { ...bearer, host: 'inbox.example.com', origin });
          expect(res.status, origin).toBe(403);
        }
        const foreign = await send(deployed.url, { ...bearer, host: 'rebind.evil.example' });
        expect(foreign.body).toEqual({
          error: 'forbidden_host',
          message:
            'Host "rebind.evil.example" is not allowed: this server answers localhost, 127.0.0.1, [::1], inbox.example.com, mcp.internal; add the name to MCP_ALLOWED_HOSTS to allow it',
        });
      } finally {
        await deployed.close();
      }
    });

    it('refuses to start on a non-loopback address without MCP_ALLOWED_HOSTS', async () => {
      const wide = await runCli(['mcp', '--http'], { ...env, MCP_HTTP_HOST: '0.0.0.0' });
      expect(wide.code).toBe(2);
      expect(wide.stderr).toBe(
        'durable-inbox: Invalid configuration: MCP_ALLOWED_HOSTS: required when MCP_HTTP_HOST is not a loopback address (got "0.0.0.0"): list the host names clients use, e.g. mcp.example.com,localhost\n',
      );
    });
  });

  describe('request bodies', () => {
    it('accepts an uploaded mailbox of MAX_MAILBOX_UPLOAD_BYTES, and refuses a body over the cap', async () => {
      // Five messages, each under MAX_EMAIL_BYTES, padded so the mbox is exactly 1 MiB.
      const message = (i: number, filler: string) =>
        `From: a${i}@example.com\nTo: inbox@example.org\nSubject: big ${i}\n` +
        `Message-ID: <cap-${i}-${randomUUID()}@example.com>\nDate: Mon, 16 Nov 2026 10:00:00 +0000\n\n${filler}\n`;
      const line = `${'y'.repeat(75)}\n`;
      const fixed = Array.from({ length: 4 }, (_, i) => toMboxEntry(message(i, line.repeat(2650))));
      const without = [...fixed, toMboxEntry(message(4, ''))].join('').length;
      const pad = MiB - without;
      const mbox = [
        ...fixed,
        toMboxEntry(message(4, line.repeat(Math.floor(pad / 76)) + 'z'.repeat(pad % 76))),
      ].join('');
      expect(Buffer.byteLength(mbox)).toBe(MiB);

      const mcp = await connectHttp(server.url, apiKey);
      try {
        const out = await callOk<{ status: string; report: { stored: number; failed: number } }>(
          mcp,
          'ingest_mailbox',
          { content: Buffer.from(mbox).toString('base64') },
        );
        expect(out.status).toBe('completed');
        expect(out.report).toMatchObject({ stored: 5, failed: 0 });
      } finally {
        await mcp.close();
      }

      const over = await send(server.url, bearer, paddedToolsList(BODY_CAP + 1));
      expect(over).toMatchObject({
        status: 413,
        body: { error: 'payload_too_large', message: `the request body is over ${BODY_CAP} bytes` },
      });
    });

    it('refuses bodies beyond MCP_MAX_BODY_BYTES_IN_FLIGHT with 503 and Retry-After, and frees them when done', async () => {
      const size = 1_400_000;
      const held = { ...bearer, 'content-length': String(size) };
      const a = openBody(server.url, held);
      await expect.poll(() => server.bodyBytesInFlight()).toBe(size);
      const b = openBody(server.url, held);
      await expect.poll(() => server.bodyBytesInFlight()).toBe(2 * size);

      // Declared: refused on its Content-Length, before a byte of it is read.
      const declared = openBody(server.url, held);
      const refused = await declared.reply;
      expect(refused).toMatchObject({
        status: 503,
        body: {
          error: 'server_busy',
          message: `the server is buffering other request bodies: this one (${size} bytes) would take it over MCP_MAX_BODY_BYTES_IN_FLIGHT (${3 * MiB} bytes); retry after 5 s`,
        },
      });
      expect(refused.headers['retry-after']).toBe('5');
      declared.req.destroy();

      // Chunked: refused once what it has sent no longer fits.
      const chunked = openBody(server.url, bearer);
      chunked.req.write('x'.repeat(400_000));
      const chunkedReply = await chunked.reply;
      expect(chunkedReply.status).toBe(503);
      expect(chunkedReply.headers['retry-after']).toBe('5');
      chunked.req.destroy();
      await expect.poll(() => server.bodyBytesInFlight()).toBe(2 * size);

      // A client that gives up frees its bytes; so does one that completes.
      a.req.destroy();
      await expect.poll(() => server.bodyBytesInFlight()).toBe(size);
      expect((await send(server.url, bearer)).status).toBe(200);
      b.req.end(paddedToolsList(size));
      expect((await b.reply).status).toBe(200);
      await expect.poll(() => server.bodyBytesInFlight()).toBe(0);
      expect((await send(server.url, bearer, paddedToolsList(size))).status).toBe(200);
      await expect.poll(() => server.bodyBytesInFlight()).toBe(0);
    });
  });
});
