/**
 * Webhook delivery: one entity workflow per endpoint (`webhooks/<tenant>/<endpointId>`), delivering the
 * tenant's matching events in event order. Loop: claim (the activity moves the endpoint's cursor in the
 * outbox and returns the undelivered deliveries, oldest event first), then each delivery in turn until
 * it is delivered: an attempt is one activity that sends and records it; a failure waits on a durable
 * timer (Retry-After, else the growing schedule of core/webhook-retry.ts) and tries again, so every
 * attempt is in the log and the schedule survives restarts. The attempt is a local activity
 * (WEBHOOK_LOCAL_ATTEMPT_PATCH): the claim and the batch's attempts run in one workflow task, so a woken
 * endpoint delivers in one trip through Temporal. The attempt that ends the schedule puts the
 * endpoint in needs_attention, a 410 disables it: the workflow then waits for `resume`, which retries
 * the same delivery at once (order is kept: nothing after it is sent before it). With nothing to send
 * it waits for `wake` (the worker's waker) or, as a safety net, a few minutes. It continues as new
 * before its history grows large.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhook-activities.js';
import {
  type AttemptResult,
  removeWebhookUpdate,
  resumeWebhookUpdate,
  WEBHOOK_LOCAL_ATTEMPT_PATCH,
  WEBHOOK_TIMEOUT_CEILING_MS,
  type WebhookDeliveryInput,
  type WebhookDeliveryStatus,
  type WebhookState,
  webhookAttemptOptions,
  webhookClaimOptions,
  webhookLocalAttemptOptions,
  webhookStatusQuery,
  webhookWakeSignal,
} from './webhook-delivery.contract.js';

const remoteAttempt = proxyActivities<WebhookActivities>(webhookAttemptOptions).attemptWebhookDelivery;
const { claimWebhookDeliveries, setWebhookEndpointStatus } =
  proxyLocalActivities<WebhookActivities>(webhookClaimOptions);

/** Deliveries per claim, and attempts per run before continuing as new. */
const CLAIM_LIMIT = 50;
const ATTEMPTS_PER_RUN = 500;
/** Without a wake-up, the outbox is looked at this often anyway. */
const IDLE_POLL = '5 minutes';

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryStatus> {
  const ref = { tenantId: input.tenantId, endpointId: input.endpointId };
  let state: WebhookState = input.carried?.state ?? 'active';
  let delivered = input.carried?.delivered ?? 0;
  let attempts = input.carried?.attempts ?? 0;
  let attemptsThisRun = 0;
  let last: string | null = null;
  let woken = false;
  /** Set by resume: a retry timer ends now. */
  let retryNow = false;
  /** WEBHOOK_TIMEOUT as the last claim reported it. */
  let requestTimeoutMs = WEBHOOK_TIMEOUT_CEILING_MS;
  let localAttempt = proxyLocalActivities<WebhookActivities>(
    webhookLocalAttemptOptions(requestTimeoutMs),
  ).attemptWebhookDelivery;

  const status = (): WebhookDeliveryStatus => ({ state, delivered, attempts, last });
  setHandler(webhookStatusQuery, status);
  setHandler(webhookWakeSignal, () => {
    woken = true;
  });
  setHandler(resumeWebhookUpdate, async () => {
    if (state !== 'deleted') {
      await setWebhookEndpointStatus({ ...ref, status: 'active', reason: null });
      state = 'active';
      retryNow = true;
      woken = true;
    }
    return status();
  });
  setHandler(removeWebhookUpdate, () => {
    state = 'deleted';
    retryNow = true;
    woken = true;
    return status();
  });

  /** Attempts until delivered, or the endpoint leaves `active`. */
  async function deliver(deliveryId: string): Promise<void> {
    for (let round = 1; state === 'active'; round++) {
      attempts++;
      attemptsThisRun++;
      // Histories from before the patch keep their task-queue attempts on replay.
      const attempt = patched(WEBHOOK_LOCAL_ATTEMPT_PATCH) ? localAttempt : remoteAttempt;
      const result: AttemptResult = await attempt({
        ...ref,
        deliveryId,
        attemptKey: `${workflowInfo().runId}/${attemptsThisRun}`,
        attemptInRound: round,
      });
      last = `${deliveryId}: ${result.outcome}${result.error ? ` (${result.error})` : ''}`;
      switch (result.outcome) {
        case 'delivered':
          delivered++;
          return;
        case 'skipped':
          return;
        case 'deleted':
          state = 'deleted';
          return;
        case 'disabled':
        case 'needs_attention':
          if (state === 'active') state = result.outcome;
          return;
        case 'retry':
          retryNow = false;
          await condition(() => retryNow, result.retryInMs ?? 1000);
          // resume during the wait: the next attempt starts a new round of the schedule.
          if (retryNow) round = 0;
      }
    }
  }

  for (;;) {
    if (state === 'deleted') break;
    if (state !== 'active') {
      await condition(() => state === 'active' || state === 'deleted');
      continue;
    }
    if (attemptsThisRun >= ATTEMPTS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof webhookDeliveryWorkflow>({
        ...ref,
        carried: { state, delivered, attempts },
      });
    }
    woken = false;
    const claim = await claimWebhookDeliveries({ ...ref, limit: CLAIM_LIMIT });
    if (claim.status === null) {
      state = 'deleted';
      break;
    }
    if (claim.requestTimeoutMs !== undefined && claim.requestTimeoutMs !== requestTimeoutMs) {
      requestTimeoutMs = claim.requestTimeoutMs;
      localAttempt = proxyLocalActivities<WebhookActivities>(
        webhookLocalAttemptOptions(requestTimeoutMs),
      ).attemptWebhookDelivery;
    }
    if (claim.status !== 'active' && state === 'active') {
      // Paused outside this run (a previous run's verdict carried in the row): wait for resume.
      state = claim.status;
      continue;
    }
    for (const d of claim.deliveries) {
      await deliver(d.deliveryId);
      if (state !== 'active') break;
    }
    if (claim.deliveries.length === 0 && !claim.more) {
      await condition(() => woken, IDLE_POLL);
    }
  }
  await condition(allHandlersFinished);
  return status();
}
