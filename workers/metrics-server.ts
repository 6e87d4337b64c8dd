/**
 * The Prometheus endpoint (`GET /metrics` on METRICS_HOST:METRICS_PORT): the application's series
 * (core/metrics.ts) and the Temporal SDK's (workers, polling, task latencies, sticky cache), in one
 * scrape. The SDK serves its own from its native core on a loopback port of this process
 * (`Runtime.install` telemetry, stack.ts); this endpoint reads it and appends it, so an operator scrapes
 * one target. A process that runs no worker has no SDK series.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import { metricsRegistry } from '../core/metrics.js';

export interface RunningMetricsServer {
  url: string;
  close(): Promise<void>;
}

const SDK_SCRAPE_TIMEOUT_MS = 2000;

export async function startMetricsServer(opts: {
  host: string;
  port: number;
  /** The SDK's own exporter (`http://127.0.0.1:<port>/metrics`), when the runtime has one. */
  sdkMetricsUrl?: string;
  log: Logger;
}): Promise<RunningMetricsServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    scrape(opts.sdkMetricsUrl, opts.log).then(
      (body) => res.writeHead(200, { 'Content-Type': metricsRegistry.contentType }).end(body),
      (err: unknown) => {
        opts.log.warn('metrics scrape failed', { error: err });
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function scrape(sdkMetricsUrl: string | undefined, log: Logger): Promise<string> {
  const own = await metricsRegistry.metrics();
  if (!sdkMetricsUrl) return own;
  try {
    const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    // The SDK's exporter listens once a worker or native connection made the runtime start.
    if (!response.ok) return own;
    return `${own}\n${await response.text()}`;
  } catch (err) {
    log.debug('no Temporal SDK metrics yet', { error: err instanceof Error ? err.message : String(err) });
    return own;
  }
}
