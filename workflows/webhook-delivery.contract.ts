/**
 * Contract of webhook delivery (workflows/webhook-delivery.ts): one long-running entity workflow per
 * endpoint, `webhooks/<tenant>/<endpointId>`. The worker's waker signals `wake` (signal-with-start) when
 * the tenant's events commit; `resume` (an update) brings an endpoint back from needs_attention or
 * disabled and retries at once; `remove` ends it (delete_webhook). Input and history carry ids and
 * outcomes only: the URL and secrets are opened by the activities.
 */
import {
  type ActivityOptions,
  defineQuery,
  defineSignal,
  defineUpdate,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { AttemptResult, ClaimResult } from '../activities/webhook-activities.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { QUICK_RETRY } from './retry-presets.js';

export type { AttemptResult, ClaimResult };

export type WebhookState = 'active' | 'needs_attention' | 'disabled' | 'deleted';

export interface WebhookDeliveryInput {
  tenantId: string;
  endpointId: string;
  carried?: { state: WebhookState; delivered: number; attempts: number };
}

export interface WebhookDeliveryStatus {
  state: WebhookState;
  delivered: number;
  attempts: number;
  /** What the last attempt did. */
  last: string | null;
}

export const webhookWakeSignal = defineSignal<[]>('wake');
export const resumeWebhookUpdate = defineUpdate<WebhookDeliveryStatus, []>('resume');
export const removeWebhookUpdate = defineUpdate<WebhookDeliveryStatus, []>('remove');
export const webhookStatusQuery = defineQuery<WebhookDeliveryStatus>('status');

export function webhookWorkflowId(tenantId: string, endpointId: string): string {
  return `webhooks/${tenantId}/${endpointId}`;
}

export type WebhookDeliveryWorkflow = (input: WebhookDeliveryInput) => Promise<WebhookDeliveryStatus>;
export const webhookDeliveryContract: WorkflowContract<WebhookDeliveryWorkflow> =
  workflowContract<WebhookDeliveryWorkflow>('webhookDeliveryWorkflow');

/**
 * One attempt, as histories before WEBHOOK_LOCAL_ATTEMPT_PATCH ran it (a task-queue activity): the request
 * is bounded by WEBHOOK_TIMEOUT (at most 60 s); only database trouble fails the activity, retried quickly
 * and forever. The receiver's failures are the workflow's own timers.
 */
export const webhookAttemptOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: QUICK_RETRY,
};

/**
 * From this patch on an attempt is a local activity: it runs in the workflow task that claimed it (or
 * that the retry timer woke), so a delivery costs one trip through Temporal instead of two, and a batch of
 * claimed deliveries goes out in one task. The retry schedule stays the workflow's durable timers.
 */
export const WEBHOOK_LOCAL_ATTEMPT_PATCH = 'webhook-local-attempt';

/** The database steps around the request (claim, endpoint, secret, record): margin over the request timeout. */
const ATTEMPT_DATABASE_MARGIN_MS = 30_000;
/** The request timeout when a claim did not say it (WEBHOOK_TIMEOUT's ceiling). */
export const WEBHOOK_TIMEOUT_CEILING_MS = 60_000;

/**
 * A local attempt's timeouts follow WEBHOOK_TIMEOUT (which the claim reports, so it is in the history):
 * the request plus the database steps; only database trouble fails it, retried quickly and forever.
 */
export function webhookLocalAttemptOptions(requestTimeoutMs: number): LocalActivityOptions {
  return {
    startToCloseTimeout: requestTimeoutMs + ATTEMPT_DATABASE_MARGIN_MS,
    retry: QUICK_RETRY,
  };
}

/** The claim and status changes: short database steps, run as local activities (no task-queue trip). */
export const webhookClaimOptions: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: QUICK_RETRY,
};
