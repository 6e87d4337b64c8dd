/**
 * The stdio entry for desktop MCP clients (`npx durable-inbox mcp --stdio`).
 *
 * - serveStdio: the tools run in this process, against the configured database and Temporal.
 * - bridgeStdioToHttp: forwards every message to a running `npm start` stack. The embedded database
 *   serves one connection, owned by that stack, so a second process must not open its own.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { EventHub } from '../app/event-hub.js';
import type { ToolContext } from './context.js';
import { createMcpServer } from './server.js';

/** Serve tools and resources (with subscriptions, given the outbox reader) over stdio; resolves when the client closes stdin. */
export async function serveStdio(ctx: ToolContext, events?: EventHub): Promise<void> {
  const server = createMcpServer(ctx, { hub: events });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}

/** Relay stdio to a Streamable HTTP MCP endpoint; resolves when the client closes stdin. */
export async function bridgeStdioToHttp(url: string, apiKey: string): Promise<void> {
  const upstream = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  const local = new StdioServerTransport();
  const forward = (message: JSONRPCMessage) =>
    upstream.send(message).catch((err: unknown) => {
      if (!isJSONRPCRequest(message)) return;
      const reason = err instanceof Error ? err.message : String(err);
      void local.send({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32603, message: `durable-inbox at ${url} did not answer: ${reason}` },
      });
    });
  local.onmessage = (message) => void forward(message);
  upstream.onmessage = (message) => void local.send(message);
  const closed = new Promise<void>((resolve) => {
    local.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await upstream.start();
  await local.start();
  await closed;
  await upstream.close();
}
