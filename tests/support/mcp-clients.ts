/** Real MCP clients (the SDK's Client) over the two transports the product serves. */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const CLI = path.resolve('bin/durable-inbox.mjs');

/**
 * Spawn `durable-inbox mcp --stdio` with the given environment and connect to it. With `onStderr` the
 * server's log lines are handed to it instead of being inherited (tests that read the log).
 */
export async function connectStdio(
  env: Record<string, string>,
  onStderr?: (text: string) => void,
): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', '--stdio'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stderr: onStderr ? 'pipe' : 'inherit',
  });
  transport.stderr?.on('data', (chunk: Buffer) => onStderr?.(chunk.toString('utf8')));
  const client = new Client({ name: 'durable-inbox-tests', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export async function connectHttp(url: string, bearer: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
  const client = new Client({ name: 'durable-inbox-tests', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** Call a tool; returns the structured result, or throws with the tool's error text. */
export async function callOk<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<T> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return result.structuredContent as T;
}

/** Call a tool that must fail; returns its error text. */
export async function callError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (!result.isError)
    throw new Error(`${name} unexpectedly succeeded: ${JSON.stringify(result.structuredContent)}`);
  return textOf(result);
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/**
 * `ingest_email`, then, when it answered at the commit (status `running` with an emailId: the archive,
 * attachments and analysis still going on), the run's outcome as `get_workflow` gives it: the fields
 * that read `pending` in the first answer, and status `completed`.
 */
export async function ingestToEnd<T = Record<string, unknown>>(
  client: Client,
  args: Record<string, unknown>,
): Promise<T> {
  const out = await callOk(client, 'ingest_email', args);
  if (out.status !== 'running' || !out.emailId) return out as T;
  const got = await runOutcome(client, out.workflowId as string, out.runId as string);
  const { attachments, rawMessage, analysisWorkflowId } = got.result as Record<string, unknown>;
  return { ...out, status: 'completed', attachments, rawMessage, analysisWorkflowId } as T;
}

/** Poll get_workflow until the run has ended (30 s at most); its answer. */
export async function runOutcome(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const got = await callOk(client, 'get_workflow', { workflowId, ...(runId ? { runId } : {}) });
    if (got.status !== 'running') return got;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${workflowId} still running after 30 s`);
}
