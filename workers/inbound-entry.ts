/**
 * Wiring a running stack to the inbound doors: the SMTP listener (SMTP_INBOUND_PORT), the webhooks on
 * the HTTP server, and the recovery sweep that starts the runs of accepted mail whose start was lost.
 */
import { readFile } from 'node:fs/promises';
import { startInboundRecovery } from '../app/inbound.js';
import type { Logger } from '../core/logger.js';
import { type RunningSmtpServer, startSmtpServer } from '../mcp/smtp.js';
import { inboundDeps } from './mcp-entry.js';
import type { Stack } from './stack.js';

/** The SMTP listener as configured; `port` overrides SMTP_INBOUND_PORT (tests, `durable-inbox smtp`). */
export async function startSmtp(stack: Stack, log: Logger, port?: number): Promise<RunningSmtpServer> {
  const smtp = stack.config.inbound.smtp;
  if (!smtp && port === undefined) throw new Error('SMTP_INBOUND_PORT is not set');
  const tls = smtp?.tls
    ? { cert: await readFile(smtp.tls.certPath), key: await readFile(smtp.tls.keyPath) }
    : undefined;
  return startSmtpServer({
    host: smtp?.host ?? stack.config.env.SMTP_INBOUND_HOST,
    port: port ?? smtp!.port,
    hostname: smtp?.hostname,
    tls,
    auth: smtp?.auth,
    maxClients: smtp?.maxClients ?? stack.config.env.SMTP_MAX_CLIENTS,
    maxEmailBytes: stack.config.limits.maxEmailBytes,
    deps: inboundDeps(stack, log),
  });
}

/** The recovery sweep: at once, then every INBOUND_RECOVERY_SECONDS. */
export function startRecovery(stack: Stack, log: Logger): { stop(): Promise<void> } {
  return startInboundRecovery(inboundDeps(stack, log), stack.config.inbound.recoveryEveryMs);
}
