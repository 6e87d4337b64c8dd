/**
 * The worker side's connection to Temporal, from the same target the clients use (see `client.ts`).
 * Only workers import this: it loads the SDK's native core.
 */
import { NativeConnection } from '@temporalio/worker';
import type { TemporalTarget } from './client.js';

export function connectWorkerConnection(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: target.address,
    tls: target.tls ? {} : undefined,
    apiKey: target.apiKey,
  });
}
