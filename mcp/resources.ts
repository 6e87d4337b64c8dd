/**
 * MCP resources: `email://{emailId}` (the parsed email as JSON and the raw message as message/rfc822),
 * `thread://{threadId}`, `run://{workflowId}` and `inbox://recent`. Each is a template (or a fixed URI)
 * plus one app call, read as the caller under RLS; ids complete from the caller's own mail and runs.
 * Errors read `Type: message` like tool errors; a resource that is not there is -32002 (the spec's code).
 */
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { completeIds, readEmailWithRaw, readRecentEmails, readThread } from '../app/resources.js';
import { getWorkflow } from '../app/runs.js';
import { ErrorType } from '../core/errors.js';
import { RESOURCE } from '../core/events.js';
import { describeFailure } from '../core/failure.js';
import type { ToolContext } from './context.js';

/** The spec's "resource not found" (server/resources, error handling). */
export const RESOURCE_NOT_FOUND = -32002;

const json = (uri: string, value: unknown) => ({
  uri,
  mimeType: 'application/json',
  text: JSON.stringify(value, null, 2),
});

/** One variable of a URI as the template matched it, percent-decoded once. */
export function variable(value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * A JSON-RPC error whose message is exactly `Type: message`. (The SDK's McpError prefixes its message
 * with "MCP error <code>: ", which the client then prefixes again.)
 */
export class ResourceError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A thrown failure as a JSON-RPC error whose message reads `Type: message`. */
export function resourceError(err: unknown, ctx: ToolContext): Error {
  if (err instanceof ResourceError || err instanceof McpError) return err;
  const { type, message, detail } = describeFailure(err);
  if (type === ErrorType.InternalError)
    ctx.log.error('resource read failed unexpectedly', { detail, error: err });
  const code =
    type === ErrorType.NotFound
      ? RESOURCE_NOT_FOUND
      : type === ErrorType.InternalError
        ? ErrorCode.InternalError
        : ErrorCode.InvalidParams;
  return new ResourceError(code, `${type}: ${message}`);
}

async function guarded(
  ctx: ToolContext,
  read: () => Promise<ReadResourceResult>,
): Promise<ReadResourceResult> {
  try {
    return await read();
  } catch (err) {
    throw resourceError(err, ctx);
  }
}

const completer = (ctx: ToolContext, kind: 'email' | 'thread' | 'run') => async (value: string) => {
  try {
    return await completeIds(ctx, kind, value);
  } catch {
    return [];
  }
};

/** Read any of this server's resource URIs (subscribe checks access with it). */
export async function readResource(ctx: ToolContext, uri: string): Promise<ReadResourceResult> {
  const [scheme, rest = ''] = uri.split('://', 2);
  const id = variable(rest);
  switch (scheme) {
    case 'email': {
      const { email, raw } = await readEmailWithRaw(ctx, id);
      const contents: ReadResourceResult['contents'] = [json(uri, email)];
      if (raw) contents.push({ uri, mimeType: 'message/rfc822', blob: raw.toString('base64') });
      return { contents };
    }
    case 'thread':
      return { contents: [json(uri, await readThread(ctx, id))] };
    case 'run':
      return { contents: [json(uri, await getWorkflow(ctx, { workflowId: id }))] };
    case 'inbox':
      if (rest === 'recent') return { contents: [json(uri, await readRecentEmails(ctx))] };
  }
  throw new ResourceError(RESOURCE_NOT_FOUND, `NotFound: no resource ${uri} on this server`);
}

export function registerResources(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    'email',
    new ResourceTemplate('email://{emailId}', {
      list: async () => {
        const { emails } = await readRecentEmails(ctx).catch(() => ({ emails: [] }));
        return {
          resources: emails.map((e) => ({
            uri: RESOURCE.email(e.emailId),
            name: e.subject ?? '(no subject)',
            mimeType: 'application/json',
            description: `from ${e.from ?? 'unknown'} at ${e.sentAt}`,
          })),
        };
      },
      complete: { emailId: completer(ctx, 'email') },
    }),
    {
      title: 'Email',
      description:
        'A stored email as JSON (addresses, subject, bodies, headers, attachments, analysis status) and, ' +
        'while it is kept, its raw RFC 5322 message (message/rfc822, base64).',
      mimeType: 'application/json',
    },
    (uri) => guarded(ctx, () => readResource(ctx, uri.href)),
  );
  server.registerResource(
    'thread',
    new ResourceTemplate('thread://{threadId}', {
      list: undefined,
      complete: { threadId: completer(ctx, 'thread') },
    }),
    {
      title: 'Thread',
      description:
        'The emails of one thread, oldest first: ids, subject, sender, dates, status, category, priority.',
      mimeType: 'application/json',
    },
    (uri) => guarded(ctx, () => readResource(ctx, uri.href)),
  );
  server.registerResource(
    'run',
    new ResourceTemplate('run://{workflowId}', {
      list: undefined,
      complete: { workflowId: completer(ctx, 'run') },
    }),
    {
      title: 'Workflow run',
      description:
        'A run: status, result or failure (Type: message), and for owners and admins its Temporal Web UI ' +
        'link. Percent-encode the workflow id (email%2F<tenant>%2F<key>).',
      mimeType: 'application/json',
    },
    (uri) => guarded(ctx, () => readResource(ctx, uri.href)),
  );
  server.registerResource(
    'inbox-recent',
    RESOURCE.inbox,
    {
      title: 'Latest emails',
      description:
        'The tenant’s 50 latest received emails, newest first, with analysis category and priority.',
      mimeType: 'application/json',
    },
    (uri) => guarded(ctx, () => readResource(ctx, uri.href)),
  );
}
