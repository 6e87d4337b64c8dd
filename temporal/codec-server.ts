/**
 * The codec server (`durable-inbox codec-server`; `npm start` runs one): `POST /encode` and
 * `POST /decode` with `{ "payloads": [{ "metadata": { k: base64 }, "data": base64 }] }`, the protocol the
 * Temporal Web UI and `temporal --codec-endpoint` speak, so an operator reads decrypted payloads without
 * the key ever leaving this process.
 *
 * Every encode/decode needs the token: `Authorization: Bearer <token>`, or the token as the first path
 * segment (`/<token>/decode`) for a UI that cannot send a header (the dev server's
 * `--ui-codec-endpoint`). Browsers' CORS preflight (OPTIONS) is answered for the allowed origins
 * without the token, as preflights carry none; the Web UI sends `X-Namespace` and `Content-Type`.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';

export interface CodecServerOptions {
  host: string;
  port: number;
  token: string;
  codec: PayloadCodec;
  /** Origins (scheme://host[:port]) whose pages may call it: the Web UIs. */
  allowedOrigins: string[];
  log: Logger;
}

export interface RunningCodecServer {
  /** Base URL without the token. */
  url: string;
  /** The endpoint to give a Web UI that cannot send a header: the token is its first path segment. */
  endpointWithToken: string;
  /** Admit one more Web UI origin (the dev server's, once its port is known). */
  allowOrigin(origin: string): void;
  close(): Promise<void>;
}

/** Temporal Cloud's Web UI, the configured UI and the local dev server's, and CODEC_SERVER_ALLOWED_ORIGINS. */
export function codecServerOrigins(config: Config): string[] {
  const origins = new Set(['https://cloud.temporal.io', ...config.codecServer.allowedOrigins]);
  if (config.temporal.uiUrl) origins.add(new URL(config.temporal.uiUrl).origin);
  for (const host of ['localhost', '127.0.0.1']) origins.add(`http://${host}:${config.temporal.devUiPort}`);
  return [...origins];
}

/** A history page's payloads fit easily; anything larger is not a Web UI request. */
export const CODEC_MAX_BODY_BYTES = 16 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const allowed = new Set(opts.allowedOrigins);
  const token = Buffer.from(opts.token, 'utf8');
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const refusal = err instanceof Refusal ? err : undefined;
      if (!refusal) opts.log.warn('codec request failed', { error: err });
      send(res, refusal?.status ?? 400, {
        error: refusal?.message ?? (err instanceof Error ? err.message : String(err)),
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin) {
      if (!allowed.has(origin)) throw new Refusal(403, `origin ${origin} is not allowed`);
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
      res.setHeader('Access-Control-Max-Age', '600');
      res.writeHead(204).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://codec');
    const segments = url.pathname.split('/').filter(Boolean);
    const action = segments.at(-1);
    if (segments.length > 2 || (action !== 'encode' && action !== 'decode')) {
      throw new Refusal(404, 'not found: POST /encode or /decode');
    }
    if (req.method !== 'POST') throw new Refusal(405, 'method not allowed: POST only');
    const presented =
      segments.length === 2 ? segments[0] : /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!presented) throw new Refusal(401, 'a token is required: Authorization: Bearer <token>');
    if (!sameToken(Buffer.from(decodeURIComponent(presented), 'utf8'), token)) {
      throw new Refusal(401, 'the token is not valid');
    }
    const body = await readJson(req);
    const payloads = parsePayloads(body);
    const out = action === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
    send(res, 200, { payloads: out.map(toJson) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}`;
  return {
    url,
    endpointWithToken: `${url}/${encodeURIComponent(opts.token)}`,
    allowOrigin: (o) => void allowed.add(o),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sameToken(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > CODEC_MAX_BODY_BYTES) throw new Refusal(413, `body over ${CODEC_MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > CODEC_MAX_BODY_BYTES) throw new Refusal(413, `body over ${CODEC_MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Refusal(400, 'the body is not JSON: expected {"payloads": [...]}');
  }
}

function parsePayloads(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new Refusal(400, 'expected {"payloads": [...]}');
  return list.map((item: JsonPayload, index) => {
    if (item === null || typeof item !== 'object')
      throw new Refusal(400, `payloads[${index}]: not an object`);
    const metadata: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(item.metadata ?? {})) metadata[k] = fromBase64(v, index);
    return { metadata, data: fromBase64(item.data ?? '', index) };
  });
}

function fromBase64(value: unknown, index: number): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
    throw new Refusal(400, `payloads[${index}]: metadata and data must be base64 strings`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function toJson(payload: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload.metadata ?? {})) {
    if (v) metadata[k] = Buffer.from(v).toString('base64');
  }
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}
