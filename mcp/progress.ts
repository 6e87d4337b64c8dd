/**
 * MCP progress: when the caller sent a progressToken, an app function's progress reports become
 * notifications/progress on that token; without one, nobody listens and the app polls nothing.
 */
import type { ProgressListener } from '../app/deps.js';

export interface ProgressExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }) => Promise<void>;
}

export function progressListener(extra: ProgressExtra): ProgressListener | undefined {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  return (p) => extra.sendNotification({ method: 'notifications/progress', params: { progressToken, ...p } });
}

/** How an MCP call waits: until the client gives up (its abort signal), reporting progress if asked. */
export function waitingFor(extra: ProgressExtra, wait: boolean) {
  return { wait, signal: extra.signal, onProgress: progressListener(extra) };
}
