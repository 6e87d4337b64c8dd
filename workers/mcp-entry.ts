/**
 * Wiring a running stack to the MCP transports: one tool context per principal, and the HTTP server
 * with authentication. Shared by the CLI and by tests, so both start exactly the same thing.
 */
import type { Logger } from '../core/logger.js';
import { createAuthenticator } from '../mcp/auth.js';
import type { ToolContext } from '../mcp/context.js';
import { type RunningHttpServer, startHttpServer } from '../mcp/http.js';
import type { Principal } from '../mcp/principal.js';
import type { Stack } from './stack.js';

export function toolContext(stack: Stack, principal: Principal, log: Logger): ToolContext {
  return {
    client: stack.client,
    sql: stack.sql,
    temporal: stack.temporal,
    taskQueue: stack.config.temporal.taskQueue,
    limits: stack.config.limits,
    files: stack.config.files,
    ai: stack.config.ai,
    waitMs: stack.config.mcp.waitMs,
    mailbox: stack.config.mailbox,
    rollouts: stack.config.rollouts,
    retention: stack.config.retention,
    principal,
    log: log.child({ actor: principal.actor }),
  };
}

export function startMcpHttp(stack: Stack, log: Logger): Promise<RunningHttpServer> {
  const { config } = stack;
  return startHttpServer({
    host: config.mcp.host,
    port: config.mcp.port,
    authenticate: createAuthenticator({
      sql: stack.sql,
      supabaseJwtSecret: config.supabase.jwtSecret,
      supabaseUrl: config.supabase.url,
    }),
    contextFor: (principal) => toolContext(stack, principal, log),
    allowedHosts: config.mcp.allowedHosts,
    allowedOrigins: config.mcp.allowedOrigins,
    // The largest tool payload (message, inline upload or mbox) in base64, plus the JSON-RPC envelope.
    maxBodyBytes: config.mcp.maxBodyBytes,
    maxBodyBytesInFlight: config.mcp.maxBodyBytesInFlight,
    log,
  });
}
