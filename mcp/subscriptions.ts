/**
 * `resources/subscribe` and `resources/unsubscribe` (the SDK's McpServer leaves them to us). A session
 * subscribes to URIs it may read (checked by reading them once, as the caller); a committed outbox event
 * of the session's tenants for a subscribed URI sends `notifications/resources/updated`, and a new email
 * sends `notifications/resources/list_changed`. A `run://` subscription also hears of the run closing,
 * from Temporal (its result long-poll), so a failed run is told without anyone polling.
 *
 * Notifications of one outbox batch are coalesced: each URI once, list_changed once.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { EventHub } from '../app/event-hub.js';
import { resourcesChangedBy } from '../core/events.js';
import type { ToolContext } from './context.js';
import { ResourceError, readResource, resourceError, variable } from './resources.js';

/** Subscriptions one session may hold. */
export const MAX_SUBSCRIPTIONS = 200;

export interface SubscriptionOptions {
  /** The process's outbox reader; without it (a stateless request) subscribing is refused. */
  hub?: EventHub;
}

export function enableSubscriptions(server: McpServer, ctx: ToolContext, opts: SubscriptionOptions): void {
  const subscribed = new Set<string>();
  const pending = new Set<string>();
  let listChanged = false;
  let flushing = false;
  let closed = false;

  const flush = () => {
    flushing = false;
    if (closed) return;
    for (const uri of pending) {
      server.server.sendResourceUpdated({ uri }).catch(() => {});
    }
    pending.clear();
    if (listChanged) {
      listChanged = false;
      if (server.isConnected()) server.sendResourceListChanged();
    }
  };
  const queue = (uris: string[], list: boolean) => {
    for (const uri of uris) if (subscribed.has(uri)) pending.add(uri);
    listChanged ||= list;
    if ((pending.size > 0 || listChanged) && !flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };

  const unsubscribeHub = opts.hub?.subscribe(
    ctx.principal.tenants.map((t) => t.tenantId),
    (event) => {
      const { uris, listChanged: list } = resourcesChangedBy(event);
      queue(uris, list);
    },
  );
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    closed = true;
    unsubscribeHub?.();
    previousOnClose?.();
  };

  /** Tell of the run's close: Temporal's result long-poll follows continue-as-new to the last run. */
  const watchRun = (uri: string) => {
    const workflowId = variable(uri.slice('run://'.length));
    ctx.temporal.client.workflow
      .getHandle(workflowId)
      .result()
      .catch(() => {})
      .finally(() => {
        if (!closed) queue([uri], false);
      });
  };

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    if (!opts.hub) {
      throw new ResourceError(
        ErrorCode.InvalidRequest,
        'InvalidInput: subscriptions need a session: initialize first (Streamable HTTP with a session, or stdio)',
      );
    }
    const { uri } = request.params;
    if (subscribed.has(uri)) return {};
    if (subscribed.size >= MAX_SUBSCRIPTIONS) {
      throw new ResourceError(
        ErrorCode.InvalidRequest,
        `InvalidInput: a session holds at most ${MAX_SUBSCRIPTIONS} subscriptions; unsubscribe from some first`,
      );
    }
    try {
      await readResource(ctx, uri);
    } catch (err) {
      throw resourceError(err, ctx);
    }
    subscribed.add(uri);
    if (uri.startsWith('run://')) watchRun(uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
}
