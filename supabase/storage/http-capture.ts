/**
 * supabase-js turns an error response into a StorageApiError that keeps `statusCode` but drops the
 * body's `code` and the Retry-After header, which are exactly what retry decisions need. So the client
 * gets a fetch that, for failed responses, keeps the status, Retry-After and JSON body of the last one
 * in the current async context (AsyncLocalStorage: concurrent uploads never see each other's errors).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { StorageErrorResponse } from './errors.js';

interface Capture {
  last?: StorageErrorResponse;
}

const captures = new AsyncLocalStorage<Capture>();

export const capturingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const capture = captures.getStore();
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

/** Run `fn` and return its value with the last error response it met (if any). */
export async function withCapture<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; lastError?: StorageErrorResponse }> {
  const capture: Capture = {};
  const value = await captures.run(capture, fn);
  return { value, lastError: capture.last };
}
