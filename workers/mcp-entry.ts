/**
 * Wiring a running stack to the MCP transports: one tool context (the app layer's deps) per principal,
 * and the HTTP server with authentication. Shared by the CLI and by tests, so both start exactly the same thing.
 */

import { createAuthenticator } from '../app/auth.js';
import type { TemporalAccess } from '../app/deps.js';
import { type EventHub, startEventHub } from '../app/event-hub.js';
import type { InboundDeps } from '../app/inbound.js';
import type { Principal } from '../app/principal.js';
import { checkReadiness } from '../app/readiness.js';
import type { Logger } from '../core/logger.js';
import type { ToolContext } from '../mcp/context.js';
import { type RunningHttpServer, startHttpServer } from '../mcp/http.js';
import type { InboundHttp } from '../mcp/inbound-http.js';
import { createStorageBackend, type StorageBackend } from '../supabase/storage/index.js';
import type { Stack } from './stack.js';

/** The stack's Temporal client, its UI target and its task queues, as the app layer takes them. */
export function temporalAccess(stack: Stack): TemporalAccess {
  return {
    client: stack.client,
    target: stack.temporal,
    queues: { main: stack.config.temporal.taskQueue, files: stack.config.files.taskQueue },
    startTimeoutMs: stack.config.temporal.startTimeoutMs,
    eagerStart: stack.eagerStart,
    commitNotices: stack.commitNotices,
    callTimeoutMs: stack.config.temporal.callTimeoutMs,
    searchPrivacy: stack.config.privacy.searchAttributes,
  };
}

export function toolContext(
  stack: Stack,
  principal: Principal,
  log: Logger,
  storage: StorageBackend = createStorageBackend(stack.config.storage),
): ToolContext {
  return {
    storage,
    sql: stack.sql,
    temporal: temporalAccess(stack),
    limits: stack.config.limits,
    files: stack.config.files,
    ai: stack.config.ai,
    waitMs: stack.config.mcp.waitMs,
    mailbox: stack.config.mailbox,
    imap: stack.config.imap,
    webhooks: stack.config.webhooks,
    rollouts: stack.config.rollouts,
    retention: stack.config.retention,
    principal,
    log: log.child({ actor: principal.actor }),
    traceTool: stack.tracing?.toolSpan,
  };
}

/** What the inbound doors (SMTP, webhooks) run over: no principal, the routing settings instead. */
export function inboundDeps(stack: Stack, log: Logger): InboundDeps {
  return {
    sql: stack.sql,
    temporal: temporalAccess(stack),
    limits: stack.config.limits,
    files: stack.config.files,
    ai: stack.config.ai,
    inbound: stack.config.inbound,
    log: log.child({ actor: 'inbound' }),
  };
}

export function inboundHttp(stack: Stack, log: Logger): InboundHttp {
  return {
    deps: inboundDeps(stack, log),
    webhooks: stack.config.inbound,
    maxBodyBytes: stack.config.inbound.maxBodyBytes,
  };
}

/** The process's outbox reader for MCP subscriptions: LISTEN on a real Postgres, polling on PGlite. */
export function startMcpEventHub(stack: Stack, log: Logger): Promise<EventHub> {
  return startEventHub({ sql: stack.sql, ...stack.config.events, log });
}

export async function startMcpHttp(stack: Stack, log: Logger): Promise<RunningHttpServer> {
  const { config } = stack;
  const events = await startMcpEventHub(stack, log);
  const storage = createStorageBackend(config.storage);
  const http = await startHttpServer({
    host: config.mcp.host,
    port: config.mcp.port,
    authenticate: createAuthenticator({
      sql: stack.sql,
      supabaseJwtSecret: config.supabase.jwtSecret,
      supabaseUrl: config.supabase.url,
    }),
    contextFor: (principal) => toolContext(stack, principal, log, storage),
    allowedHosts: config.mcp.allowedHosts,
    allowedOrigins: config.mcp.allowedOrigins,
    // The largest tool payload (message, inline upload or mbox) in base64, plus the JSON-RPC envelope.
    maxBodyBytes: config.mcp.maxBodyBytes,
    maxBodyBytesInFlight: config.mcp.maxBodyBytesInFlight,
    readiness: () => checkReadiness({ sql: stack.sql, temporal: { client: stack.client }, storage }),
    inbound: inboundHttp(stack, log),
    sessions: config.mcp.sessions,
    events,
    log,
  }).catch(async (err: unknown) => {
    await events.stop();
    throw err;
  });
  return {
    ...http,
    close: async () => {
      await http.close();
      await events.stop();
    },
  };
}
