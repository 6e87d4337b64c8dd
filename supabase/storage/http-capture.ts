/**
 * supabase-js turns an error response into a StorageApiError that keeps `statusCode` but drops the
 * body's `code` and the Retry-After header, which are exactly what retry decisions need. So the client
 * gets a fetch that, for failed responses, keeps the status, Retry-After and JSON body of the last one
 * in the current async context (AsyncLocalStorage: concurrent uploads never see each other's errors).
 * The same context carries the caller's AbortSignal into every request, since storage-js's upload does
 * not pass one through to fetch: that is how cancelling a workflow aborts a standard upload in flight.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { StorageErrorResponse } from './errors.js';

interface Capture {
  last?: StorageErrorResponse;
  signal?: AbortSignal;
}

const captures = new AsyncLocalStorage<Capture>();

export const capturingFetch: typeof fetch = async (input, init) => {
  const capture = captures.getStore();
  const res = await fetch(input, capture?.signal ? { ...init, signal: capture.signal } : init);
  if (!res.ok && capture) {
    const text = await res
      .clone()
      .text()
      .catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    capture.last = { httpStatus: res.status, body, retryAfter: res.headers.get('retry-after') };
  }
  return res;
};

/** Run `fn` (its requests abort with `signal`) and return its value with the last error response it met. */
export async function withCapture<T>(
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<{ value: T; lastError?: StorageErrorResponse }> {
  const capture: Capture = { signal };
  const value = await captures.run(capture, fn);
  return { value, lastError: capture.last };
}
