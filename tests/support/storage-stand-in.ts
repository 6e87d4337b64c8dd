/**
 * A local stand-in for Supabase Storage's HTTP API: the object endpoints supabase-js uses and the TUS
 * resumable endpoint, answering errors with the service's JSON bodies (`{ statusCode, code?, error,
 * message }`, usually with HTTP 400 whatever the statusCode). It exists because the real service cannot
 * run here; the code under test is the real supabase-js and the project's real TUS client.
 *
 * Faults are queued per route and consumed in order: an error answer (with headers such as Retry-After),
 * a connection dropped once a given upload offset is crossed, or a hold that parks a request until the
 * test releases it. Every request is logged with its route, time, body bytes and the object headers
 * Storage keeps (content-type, content-disposition), for assertions; a stored object is served with the
 * content-type and content-disposition it was uploaded with, as Storage does.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route =
  | 'bucket-create'
  | 'object-upload'
  | 'object-info'
  | 'object-head'
  | 'object-get'
  | 'object-delete'
  | 'tus-create'
  | 'tus-head'
  | 'tus-patch';

export interface Fault {
  route: Route;
  /** Answer with this status and JSON body instead of serving the request. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** tus-patch: read the body until the upload reaches this offset, then destroy the socket. */
  dropAtOffset?: number;
  /** Park the request until this promise settles (the client may die meanwhile). */
  hold?: Promise<void>;
  /** tus-patch: only match a PATCH at or after this upload offset. */
  fromOffset?: number;
  /** Object routes: only match requests for this bucket. */
  bucket?: string;
}

export interface LoggedRequest {
  route: Route;
  method: string;
  at: number;
  /** Body bytes received (all of them, including those of a request that was then dropped). */
  bodyBytes: number;
  status: number | 'dropped';
  /** The request's content-type and content-disposition, when sent. */
  contentType?: string;
  contentDisposition?: string;
}

export interface StoredObject {
  data: Buffer;
  contentType: string;
  contentDisposition?: string;
}

interface TusUpload {
  bucket: string;
  key: string;
  length: number;
  contentType: string;
  parts: Buffer[];
  offset: number;
}

export interface StorageStandIn {
  url: string;
  serviceKey: string;
  buckets: Set<string>;
  /** Buckets created through the API, and whether each was made public. */
  bucketsPublic: Map<string, boolean>;
  objects: Map<string, StoredObject>;
  requests: LoggedRequest[];
  inject(fault: Fault, times?: number): void;
  count(route: Route): number;
  bodyBytes(route: Route): number;
  object(bucket: string, key: string): Buffer | undefined;
  reset(): void;
  close(): Promise<void>;
}

const supabaseError = (statusCode: string, error: string, message: string, code?: string) => ({
  statusCode,
  ...(code ? { code } : {}),
  error,
  message,
});

export async function startStorageStandIn(serviceKey = 'stand-in-service-role-key'): Promise<StorageStandIn> {
  const buckets = new Set<string>();
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, TusUpload>();
  const requests: LoggedRequest[] = [];
  let faults: Fault[] = [];

  const send = (res: ServerResponse, log: LoggedRequest, status: number, body?: unknown, headers = {}) => {
    log.status = status;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'content-type': 'application/json' } : {}),
      'tus-resumable': '1.0.0',
      ...headers,
    });
    res.end(text);
  };

  /** Read the body; for a drop fault, stop and kill the socket when the upload offset is crossed. */
  const readBody = (req: IncomingMessage, log: LoggedRequest, dropAfter?: number) =>
    new Promise<Buffer | null>((resolve) => {
      const parts: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        log.bodyBytes += chunk.length;
        parts.push(chunk);
        if (dropAfter !== undefined && log.bodyBytes >= dropAfter) {
          log.status = 'dropped';
          req.socket.destroy();
          resolve(null);
        }
      });
      const broken = () => {
        log.status = 'dropped';
        resolve(null);
      };
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('close', () => (req.complete ? resolve(Buffer.concat(parts)) : broken()));
      req.on('error', broken);
    });

  const route = (method: string, pathname: string): { route: Route; rest: string } | null => {
    if (pathname === '/storage/v1/bucket' && method === 'POST') return { route: 'bucket-create', rest: '' };
    const tus = pathname.match(/^\/storage\/v1\/upload\/resumable(?:\/([^/]+))?$/);
    if (tus) {
      if (!tus[1]) return method === 'POST' ? { route: 'tus-create', rest: '' } : null;
      if (method === 'HEAD') return { route: 'tus-head', rest: tus[1] };
      if (method === 'PATCH') return { route: 'tus-patch', rest: tus[1] };
      return null;
    }
    const info = pathname.match(/^\/storage\/v1\/object\/info\/(?:authenticated\/)?(.+)$/);
    if (info && method === 'GET') return { route: 'object-info', rest: info[1]! };
    const obj = pathname.match(/^\/storage\/v1\/object\/(?:authenticated\/)?(.+)$/);
    if (!obj) return null;
    if (method === 'POST' || method === 'PUT') return { route: 'object-upload', rest: obj[1]! };
    if (method === 'HEAD') return { route: 'object-head', rest: obj[1]! };
    if (method === 'GET') return { route: 'object-get', rest: obj[1]! };
    if (method === 'DELETE') return { route: 'object-delete', rest: obj[1]! };
    return null;
  };

  const splitKey = (rest: string) => {
    const decoded = decodeURIComponent(rest);
    const slash = decoded.indexOf('/');
    return slash < 0
      ? { bucket: decoded, key: '' }
      : { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
  };

  /** Whether each bucket created through the API was made public (tests check the workers' are not). */
  const bucketsPublic = new Map<string, boolean>();
  const noBucket = supabaseError('404', 'Bucket not found', 'Bucket not found', 'NoSuchBucket');
  const notFound = supabaseError('404', 'not_found', 'Object not found', 'NoSuchKey');
  const duplicate = supabaseError('409', 'Duplicate', 'The resource already exists', 'Duplicate');

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const matched = route(method, url.pathname);
    const log: LoggedRequest = {
      route: matched?.route ?? 'object-get',
      method,
      at: Date.now(),
      bodyBytes: 0,
      status: 0,
      ...(req.headers['content-type'] && { contentType: req.headers['content-type'] }),
      ...(req.headers['content-disposition'] && { contentDisposition: req.headers['content-disposition'] }),
    };
    if (!matched)
      return send(res, log, 404, supabaseError('404', 'not_found', `no route ${method} ${url.pathname}`));
    requests.push(log);
    if (req.headers.authorization !== `Bearer ${serviceKey}`) {
      return send(res, log, 400, supabaseError('403', 'Unauthorized', 'invalid signature', 'InvalidJWT'));
    }

    // A drop fault waits for the PATCH whose body covers its offset; other faults take the next request.
    const at = Number(req.headers['upload-offset'] ?? 0);
    const length = Number(req.headers['content-length'] ?? 0);
    const index = faults.findIndex(
      (f) =>
        f.route === matched.route &&
        (f.fromOffset === undefined || at >= f.fromOffset) &&
        (f.bucket === undefined || splitKey(matched.rest).bucket === f.bucket) &&
        (f.dropAtOffset === undefined || (f.dropAtOffset > at && f.dropAtOffset < at + length)),
    );
    const fault = index >= 0 ? faults.splice(index, 1)[0] : undefined;
    if (fault?.hold) await fault.hold.catch(() => {});
    if (req.socket.destroyed) {
      log.status = 'dropped';
      return;
    }
    if (fault?.status) {
      await readBody(req, log);
      return send(res, log, fault.status, fault.body, fault.headers);
    }

    switch (matched.route) {
      case 'bucket-create': {
        const body = await readBody(req, log);
        if (!body) return;
        const { name, public: isPublic } = JSON.parse(body.toString() || '{}') as {
          name?: string;
          public?: boolean;
        };
        if (!name) return send(res, log, 400, supabaseError('400', 'Invalid Input', 'name is required'));
        if (buckets.has(name)) return send(res, log, 400, duplicate);
        buckets.add(name);
        bucketsPublic.set(name, Boolean(isPublic));
        return send(res, log, 200, { name });
      }
      case 'object-upload': {
        const { bucket, key } = splitKey(matched.rest);
        const body = await readBody(req, log);
        if (!body) return;
        if (!buckets.has(bucket)) return send(res, log, 400, noBucket);
        const id = `${bucket}/${key}`;
        if (objects.has(id) && req.headers['x-upsert'] !== 'true') return send(res, log, 400, duplicate);
        objects.set(id, {
          data: body,
          contentType: String(req.headers['content-type'] ?? ''),
          ...(log.contentDisposition && { contentDisposition: log.contentDisposition }),
        });
        return send(res, log, 200, { Key: id, Id: randomUUID() });
      }
      case 'object-info':
      case 'object-head':
      case 'object-get': {
        const { bucket, key } = splitKey(matched.rest);
        if (!buckets.has(bucket)) return send(res, log, 400, noBucket);
        const found = objects.get(`${bucket}/${key}`);
        if (!found)
          return send(res, log, method === 'HEAD' ? 404 : 400, method === 'HEAD' ? undefined : notFound);
        if (matched.route === 'object-info') {
          return send(res, log, 200, {
            id: randomUUID(),
            name: key,
            bucket_id: bucket,
            size: found.data.length,
            content_type: found.contentType,
          });
        }
        log.status = 200;
        res.writeHead(200, {
          'content-type': found.contentType,
          'content-length': found.data.length,
          ...(found.contentDisposition && { 'content-disposition': found.contentDisposition }),
        });
        return res.end(method === 'HEAD' ? undefined : found.data);
      }
      case 'object-delete': {
        const { bucket } = splitKey(matched.rest);
        const body = await readBody(req, log);
        const prefixes = (JSON.parse(body?.toString() || '{}') as { prefixes?: string[] }).prefixes ?? [];
        for (const p of prefixes) objects.delete(`${bucket}/${p}`);
        return send(
          res,
          log,
          200,
          prefixes.map((name) => ({ name })),
        );
      }
      case 'tus-create': {
        await readBody(req, log);
        const meta = Object.fromEntries(
          String(req.headers['upload-metadata'] ?? '')
            .split(',')
            .filter(Boolean)
            .map((pair) => {
              const [k, v] = pair.trim().split(' ');
              return [k, Buffer.from(v ?? '', 'base64').toString()];
            }),
        );
        const length = Number(req.headers['upload-length']);
        if (!buckets.has(meta.bucketName ?? '')) return send(res, log, 400, noBucket);
        if (objects.has(`${meta.bucketName}/${meta.objectName}`)) return send(res, log, 409, duplicate);
        const id = randomUUID();
        uploads.set(id, {
          bucket: meta.bucketName!,
          key: meta.objectName!,
          length,
          contentType: meta.contentType ?? 'application/octet-stream',
          parts: [],
          offset: 0,
        });
        return send(res, log, 201, undefined, {
          location: `${standIn.url}/storage/v1/upload/resumable/${id}`,
        });
      }
      case 'tus-head': {
        const upload = uploads.get(matched.rest);
        if (!upload) return send(res, log, 404);
        return send(res, log, 200, undefined, {
          'upload-offset': String(upload.offset),
          'upload-length': String(upload.length),
          'cache-control': 'no-store',
        });
      }
      case 'tus-patch': {
        const upload = uploads.get(matched.rest);
        if (!upload) {
          await readBody(req, log);
          return send(res, log, 404);
        }
        if (at !== upload.offset) {
          await readBody(req, log);
          return send(res, log, 409, supabaseError('409', 'Conflict', `offset ${at} != ${upload.offset}`));
        }
        const dropAfter =
          fault?.dropAtOffset !== undefined && fault.dropAtOffset > at ? fault.dropAtOffset - at : undefined;
        const body = await readBody(req, log, dropAfter);
        // Like Supabase's TUS server, only whole chunks are kept: a broken PATCH leaves the offset unchanged.
        if (!body) return;
        upload.parts.push(body);
        upload.offset += body.length;
        if (upload.offset >= upload.length) {
          objects.set(`${upload.bucket}/${upload.key}`, {
            data: Buffer.concat(upload.parts),
            contentType: upload.contentType,
          });
          uploads.delete(matched.rest);
        }
        return send(res, log, 204, undefined, { 'upload-offset': String(upload.offset) });
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const standIn: StorageStandIn = {
    url: `http://127.0.0.1:${port}`,
    serviceKey,
    buckets,
    bucketsPublic,
    objects,
    requests,
    inject(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    count: (r) => requests.filter((q) => q.route === r).length,
    bodyBytes: (r) => requests.filter((q) => q.route === r).reduce((sum, q) => sum + q.bodyBytes, 0),
    object: (bucket, key) => objects.get(`${bucket}/${key}`)?.data,
    reset() {
      faults = [];
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standIn;
}
