/**
 * Outgoing webhooks (owners and admins): endpoints of kind `standard` (Standard Webhooks, signed) or
 * `slack` (an incoming-webhook URL, Block Kit messages), each delivered by its own workflow
 * (`webhooks/<tenant>/<endpointId>`, app/webhook-runs.ts). The URL is checked against SSRF rules at
 * creation (webhooks/destination.ts) and again at every request. The URL and signing secret are sealed
 * with the credentials key; the secret is shown once, by create_webhook and rotate_webhook_secret.
 * Another tenant's endpoint or delivery reads exactly like a missing one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { credentialsKey } from '../core/credentials-cipher.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { EventType } from '../core/events.js';
import { metrics } from '../core/metrics.js';
import {
  pingBody,
  SLACK_DEFAULT_FILTER,
  slackPingBody,
  type WebhookFilter,
  type WebhookKind,
} from '../core/webhook-messages.js';
import { sealEndpoint, shownUrl } from '../core/webhook-secrets.js';
import { generateWebhookSecret, webhookMessageId } from '../core/webhook-signing.js';
import { asCaller } from '../supabase/caller.js';
import {
  type DeliveryRow,
  deleteEndpoint,
  filterOf,
  findDelivery,
  findEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  loadSealed,
  queueReplay,
  saveSealed,
  setEndpointStatus,
  type WebhookEndpointRow,
} from '../supabase/webhooks.js';
import { resolveDestination } from '../webhooks/destination.js';
import { openSealed, sendSigned } from '../webhooks/message.js';
import {
  removeWebhookUpdate,
  resumeWebhookUpdate,
  webhookWorkflowId,
} from '../workflows/webhook-delivery.contract.js';
import type { AppDeps } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';
import { wakeWebhookDelivery } from './webhook-runs.js';
import { executeUpdate, uiLink, withinCallBound } from './workflows.js';

export interface CreateWebhookRequest {
  tenant?: string;
  url: string;
  kind?: WebhookKind;
  eventTypes?: (EventType | '*')[];
  description?: string;
  filter?: { minPriority?: number | null; categories?: string[] | null };
}

export interface WebhookView {
  endpointId: string;
  kind: WebhookKind;
  url: string;
  description: string;
  eventTypes: string[];
  filter: { minPriority: number | null; categories: string[] | null };
  status: WebhookEndpointRow['status'];
  statusReason: string | null;
  statusChangedAt: string | null;
  createdAt: string;
  workflowId: string;
  temporalUiUrl?: string;
}

export interface DeliveryView {
  deliveryId: string;
  endpointId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryRow['status'];
  attempts: number;
  replays: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export interface TestAnswer {
  endpointId: string;
  webhookId: string;
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  response: string;
  error: string | null;
}

/** Endpoints per organization: each is a workflow and a stream of requests. */
export const MAX_WEBHOOKS_PER_TENANT = 25;

export async function createWebhook(
  deps: AppDeps,
  request: CreateWebhookRequest,
): Promise<{ webhook: WebhookView; secret: string; note: string }> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'create_webhook');
  const kind = request.kind ?? 'standard';
  const key = credentialsKey(deps.imap, 'webhook secrets');
  await resolveDestination(request.url, deps.webhooks.allowPrivate);
  if (kind === 'slack' && !/^\/services\/[^/]+\/[^/]+\/[^/]+$/.test(new URL(request.url).pathname)) {
    throw new UserFacingError(
      ErrorType.WebhookUrlRefused,
      'a Slack incoming-webhook URL looks like https://hooks.slack.com/services/T…/B…/… (Slack: Apps → Incoming Webhooks)',
    );
  }
  const filter: WebhookFilter =
    kind === 'slack'
      ? {
          eventTypes: request.eventTypes ?? SLACK_DEFAULT_FILTER.eventTypes,
          minPriority:
            request.filter?.minPriority === undefined
              ? SLACK_DEFAULT_FILTER.minPriority
              : request.filter.minPriority,
          categories:
            request.filter?.categories === undefined
              ? SLACK_DEFAULT_FILTER.categories
              : request.filter.categories,
        }
      : {
          eventTypes: request.eventTypes ?? ['*'],
          minPriority: request.filter?.minPriority ?? null,
          categories: request.filter?.categories ?? null,
        };
  const existing = await listEndpoints(deps.sql, tenantId);
  if (existing.length >= MAX_WEBHOOKS_PER_TENANT) {
    throw new UserFacingError(
      ErrorType.InvalidArgument,
      `an organization has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks: delete_webhook one first`,
    );
  }
  const endpointId = randomUUID();
  const secret = generateWebhookSecret();
  await insertEndpoint(deps.sql, {
    id: endpointId,
    tenantId,
    kind,
    urlShown: shownUrl(request.url),
    description: request.description ?? '',
    filter,
    workflowId: webhookWorkflowId(tenantId, endpointId),
    createdBy: deps.principal.actor,
    ciphertext: sealEndpoint(key, tenantId, endpointId, { url: request.url, secret }),
  });
  await wakeWebhookDelivery(deps.temporal, tenantId, endpointId);
  deps.log.info('webhook created', { actor: deps.principal.actor, endpointId, kind });
  return {
    webhook: await getWebhook(deps, tenantId, endpointId),
    secret,
    note: 'The secret is shown this once: verify webhook-signature with it (Standard Webhooks). rotate_webhook_secret makes a new one.',
  };
}

export async function listWebhooks(deps: AppDeps, request: { tenant?: string }): Promise<WebhookView[]> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'list_webhooks');
  const rows = await asCaller(deps.sql, deps.principal.claims, (tx) => listEndpoints(tx, tenantId));
  return rows.map((row) => viewOf(deps, row));
}

export async function deleteWebhook(deps: AppDeps, request: { tenant?: string; endpointId: string }) {
  const row = await endpointFor(deps, request, 'delete_webhook');
  const handle = deps.temporal.client.workflow.getHandle(row.workflowId);
  await withinCallBound(deps.temporal, () => executeUpdate(handle, removeWebhookUpdate, [])).catch(
    (err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    },
  );
  await deleteEndpoint(deps.sql, row.tenantId, row.id);
  deps.log.info('webhook deleted', { actor: deps.principal.actor, endpointId: row.id });
  return { endpointId: row.id, deleted: true };
}

export async function testWebhook(
  deps: AppDeps,
  request: { tenant?: string; endpointId: string },
): Promise<TestAnswer> {
  const row = await endpointFor(deps, request, 'test_webhook');
  const sealed = openSealed(
    deps.imap,
    row.tenantId,
    row.id,
    await loadSealed(deps.sql, row.tenantId, row.id),
  );
  const now = new Date();
  const webhookId = `msg_ping_${randomBytes(12).toString('hex')}`;
  const body = row.kind === 'slack' ? slackPingBody() : pingBody(row.id, now);
  const answer = await sendSigned(sealed, webhookId, body, deps.webhooks, now);
  const ok = answer.status !== null && answer.status >= 200 && answer.status < 300;
  metrics.webhookAttempt({
    kind: row.kind,
    outcome: 'ping',
    status: answer.status,
    durationMs: answer.durationMs,
    tenantId: row.tenantId,
  });
  return {
    endpointId: row.id,
    webhookId,
    ok,
    statusCode: answer.status,
    durationMs: answer.durationMs,
    response: answer.text,
    error: answer.error,
  };
}

export async function listWebhookDeliveries(
  deps: AppDeps,
  request: {
    tenant?: string;
    endpointId: string;
    status?: DeliveryRow['status'];
    limit?: number;
    cursor?: string;
  },
): Promise<{ deliveries: DeliveryView[]; nextCursor: string | null }> {
  const row = await endpointFor(deps, request, 'list_webhook_deliveries');
  const limit = request.limit ?? 50;
  const before = request.cursor ? parseCursor(request.cursor) : undefined;
  const rows = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    listDeliveries(tx, row.tenantId, row.id, { status: request.status, before, limit }),
  );
  const last = rows.at(-1);
  return {
    deliveries: rows.map(deliveryView),
    nextCursor: rows.length === limit && last ? Buffer.from(last.position).toString('base64url') : null,
  };
}

export async function replayWebhookDelivery(
  deps: AppDeps,
  request: { tenant?: string; deliveryId: string },
): Promise<DeliveryView & { note: string }> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'replay_webhook_delivery');
  const delivery = await findDelivery(deps.sql, tenantId, request.deliveryId);
  if (!delivery) {
    throw new UserFacingError(
      ErrorType.NotFound,
      `no webhook delivery ${request.deliveryId} in this organization`,
    );
  }
  // The answer is the delivery as queued: a woken workflow may send it (and mark it delivered) before
  // a read after the wake-up would run.
  const queued = await queueReplay(deps.sql, tenantId, delivery.endpointId, delivery.deliveryId);
  const endpoint = await findEndpoint(deps.sql, tenantId, delivery.endpointId);
  if (endpoint?.status === 'active') await wakeWebhookDelivery(deps.temporal, tenantId, delivery.endpointId);
  return {
    ...deliveryView(queued ?? delivery),
    note:
      endpoint?.status === 'active'
        ? 'Queued: sent again with the same webhook-id, before any newer delivery.'
        : `Queued: the endpoint is ${endpoint?.status}; resume_webhook sends it.`,
  };
}

export async function rotateWebhookSecret(
  deps: AppDeps,
  request: { tenant?: string; endpointId: string },
): Promise<{ endpointId: string; secret: string; previousSecretValidUntil: string; note: string }> {
  const row = await endpointFor(deps, request, 'rotate_webhook_secret');
  const key = credentialsKey(deps.imap, 'webhook secrets');
  const sealed = openSealed(
    deps.imap,
    row.tenantId,
    row.id,
    await loadSealed(deps.sql, row.tenantId, row.id),
  );
  const until = new Date(Date.now() + deps.webhooks.secretGraceMs).toISOString();
  const secret = generateWebhookSecret();
  await saveSealed(
    deps.sql,
    row.tenantId,
    row.id,
    sealEndpoint(key, row.tenantId, row.id, {
      url: sealed.url,
      secret,
      previous: { secret: sealed.secret, until },
    }),
  );
  deps.log.info('webhook secret rotated', { actor: deps.principal.actor, endpointId: row.id });
  return {
    endpointId: row.id,
    secret,
    previousSecretValidUntil: until,
    note: 'The new secret is shown this once. Until previousSecretValidUntil every message carries two signatures (new and old), so receivers can switch at their pace.',
  };
}

export async function resumeWebhook(
  deps: AppDeps,
  request: { tenant?: string; endpointId: string },
): Promise<WebhookView> {
  const row = await endpointFor(deps, request, 'resume_webhook');
  const handle = deps.temporal.client.workflow.getHandle(row.workflowId);
  try {
    await withinCallBound(deps.temporal, () => executeUpdate(handle, resumeWebhookUpdate, []));
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // No run (lost, or ended): the row is the state; the wake below starts a run that catches up.
    await setEndpointStatus(deps.sql, row.tenantId, row.id, 'active', null);
  }
  await wakeWebhookDelivery(deps.temporal, row.tenantId, row.id);
  deps.log.info('webhook resumed', { actor: deps.principal.actor, endpointId: row.id });
  return getWebhook(deps, row.tenantId, row.id);
}

async function endpointFor(
  deps: AppDeps,
  request: { tenant?: string; endpointId: string },
  action:
    | 'delete_webhook'
    | 'test_webhook'
    | 'list_webhook_deliveries'
    | 'rotate_webhook_secret'
    | 'resume_webhook',
): Promise<WebhookEndpointRow> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, action);
  const row = await findEndpoint(deps.sql, tenantId, request.endpointId);
  if (!row)
    throw new UserFacingError(ErrorType.NotFound, `no webhook ${request.endpointId} in this organization`);
  return row;
}

async function getWebhook(deps: AppDeps, tenantId: string, endpointId: string): Promise<WebhookView> {
  const row = await findEndpoint(deps.sql, tenantId, endpointId);
  if (!row) throw new UserFacingError(ErrorType.NotFound, `no webhook ${endpointId} in this organization`);
  return viewOf(deps, row);
}

function parseCursor(cursor: string): { txid: string; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(text);
  if (!match)
    throw new UserFacingError(ErrorType.InvalidArgument, 'cursor: give the nextCursor of a previous page');
  return { txid: match[1]!, id: match[2]! };
}

function viewOf(deps: AppDeps, row: WebhookEndpointRow): WebhookView {
  const filter = filterOf(row);
  return {
    endpointId: row.id,
    kind: row.kind,
    url: row.urlShown,
    description: row.description,
    eventTypes: row.eventTypes,
    filter: {
      minPriority: filter.minPriority ?? null,
      categories: filter.categories ? [...filter.categories] : null,
    },
    status: row.status,
    statusReason: row.statusReason,
    statusChangedAt: row.statusChangedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    workflowId: row.workflowId,
    ...uiLink(deps, row.tenantId, row.workflowId),
  };
}

function deliveryView(row: DeliveryRow): DeliveryView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    deliveryId: row.deliveryId,
    endpointId: row.endpointId,
    webhookId: webhookMessageId(row.deliveryId),
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    replays: row.replays,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    lastAttemptAt: iso(row.lastAttemptAt),
    nextAttemptAt: iso(row.nextAttemptAt),
    deliveredAt: iso(row.deliveredAt),
  };
}
