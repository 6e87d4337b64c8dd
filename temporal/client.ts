/**
 * The one place that knows how to reach Temporal from the client side (MCP tools, the application layer,
 * schedules, the CLI): where it is (`temporalTarget`), a connected `Client` (with the one data converter,
 * `data-converter.ts`), and links into the Web UI.
 * The worker side builds its connection from the same target in `worker-connection.ts`, kept apart so a
 * client process never loads the worker's native module. TEMPORAL_API_KEY (Temporal Cloud) implies TLS.
 */
import { Client, Connection, type ConnectionLike, type WorkflowClientInterceptor } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../core/config.js';

export interface TemporalTarget {
  address: string;
  namespace: string;
  apiKey?: string;
  tls: boolean;
  /** Base URL of the Temporal Web UI, for links to runs. */
  uiUrl: string;
}

export function temporalTarget(
  config: Config,
  devServer?: { address: string; uiUrl: string },
): TemporalTarget {
  const address = config.temporal.address ?? devServer?.address;
  if (!address)
    throw new Error('No Temporal address: set TEMPORAL_ADDRESS or let the app start a dev server');
  return {
    address,
    namespace: config.temporal.namespace,
    apiKey: config.temporal.apiKey,
    tls: config.temporal.tls,
    uiUrl: (config.temporal.uiUrl ?? devServer?.uiUrl ?? guessUiUrl(address)).replace(/\/+$/, ''),
  };
}

function guessUiUrl(address: string): string {
  if (address.includes('.tmprl.cloud')) return 'https://cloud.temporal.io';
  return `http://${address.split(':')[0]}:8233`;
}

/**
 * `dataConverter`: from data-converter.ts, so every client encrypts and decrypts alike. `interceptors`:
 * the tracing client interceptor (temporal/tracing.ts) when traces are exported.
 */
export async function connectClient(
  target: TemporalTarget,
  dataConverter: DataConverter,
  interceptors: WorkflowClientInterceptor[] = [],
  /** The worker's native connection, shared so the client can request eager workflow starts. */
  shared?: ConnectionLike,
): Promise<Client> {
  const connection =
    shared ??
    (await Connection.connect({
      address: target.address,
      tls: target.tls ? {} : undefined,
      apiKey: target.apiKey,
    }));
  return new Client({
    connection,
    namespace: target.namespace,
    dataConverter,
    interceptors: { workflow: interceptors },
  });
}

/** A link to one run in the Web UI (or to the workflow's latest run when runId is unknown). */
export function workflowUiUrl(
  target: Pick<TemporalTarget, 'uiUrl' | 'namespace'>,
  workflowId: string,
  runId?: string,
) {
  const base = `${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
