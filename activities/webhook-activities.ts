/**
 * Webhook delivery activities (workflows/webhook-delivery.ts). The claim moves the endpoint's outbox
 * cursor and writes its deliveries; an attempt sends one signed message and records it, with what the
 * workflow does next: delivered, retry (after `retryInMs`), needs_attention (the last attempt of the
 * schedule failed) or disabled (410, or Slack's "no such webhook"). An attempt never throws for what a
 * receiver did; only database trouble fails it, and Temporal retries that. The attempt key makes a
 * retried activity answer what it recorded instead of sending again.
 */

import type { WebhookConfig } from '../core/config.js';
import type { CredentialsKeySource } from '../core/credentials-cipher.js';
import { describeFailure } from '../core/failure.js';
import { metrics } from '../core/metrics.js';
import { slackBody, standardBody } from '../core/webhook-messages.js';
import { webhookRetryDelayMs } from '../core/webhook-retry.js';
import { webhookMessageId } from '../core/webhook-signing.js';
import type { Sql } from '../supabase/db.js';
import {
  type AttemptRecord,
  claimDeliveries,
  deliveryToSend,
  type EndpointStatus,
  findEndpoint,
  loadSealed,
  type QueuedDelivery,
  recordAttempt,
  recordedAttempt,
  setEndpointStatus,
} from '../supabase/webhooks.js';
import { openSealed, sendSigned } from '../webhooks/message.js';
import type { WebhookAnswer } from '../webhooks/send.js';

export interface WebhookActivityDeps {
  sql: Sql;
  imap: CredentialsKeySource;
  webhooks: WebhookConfig;
}

export interface WebhookRef {
  tenantId: string;
  endpointId: string;
}

export type AttemptOutcome = AttemptRecord['outcome'] | 'skipped' | 'deleted';

export interface AttemptResult {
  outcome: AttemptOutcome;
  retryInMs?: number;
  statusCode: number | null;
  error: string | null;
}

export interface ClaimResult {
  deliveries: QueuedDelivery[];
  /** null: the endpoint was deleted. */
  status: EndpointStatus | null;
  more: boolean;
  /** WEBHOOK_TIMEOUT: what the workflow bounds a local attempt by (absent in histories before it). */
  requestTimeoutMs?: number;
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const { sql } = deps;
  const policy = () => ({
    allowPrivate: deps.webhooks.allowPrivate,
    timeoutMs: deps.webhooks.timeoutMs,
    maxResponseBytes: deps.webhooks.maxResponseBytes,
  });

  /** What the answer means for the delivery and the endpoint. */
  function judge(
    kind: string,
    answer: WebhookAnswer,
    attemptInRound: number,
  ): Omit<AttemptResult, 'statusCode' | 'error'> {
    const status = answer.status;
    if (status !== null && status >= 200 && status < 300) return { outcome: 'delivered' };
    const gone = status === 410 || (kind === 'slack' && (status === 403 || status === 404));
    if (gone) return { outcome: 'disabled' };
    if (attemptInRound >= deps.webhooks.maxAttempts) return { outcome: 'needs_attention' };
    return {
      outcome: 'retry',
      retryInMs: webhookRetryDelayMs(attemptInRound, deps.webhooks.retryFirstMs, answer.retryAfterMs),
    };
  }

  return {
    async claimWebhookDeliveries(input: WebhookRef & { limit: number }): Promise<ClaimResult> {
      const claim = await claimDeliveries(sql, input.tenantId, input.endpointId, input.limit);
      return { ...claim, requestTimeoutMs: deps.webhooks.timeoutMs };
    },

    async attemptWebhookDelivery(
      input: WebhookRef & { deliveryId: string; attemptKey: string; attemptInRound: number },
    ): Promise<AttemptResult> {
      const { tenantId, endpointId, deliveryId } = input;
      // The reads before the request, at once: each is a round trip on the way to the receiver.
      const [recorded, endpoint, delivery, ciphertext] = await Promise.all([
        recordedAttempt(sql, input.attemptKey),
        findEndpoint(sql, tenantId, endpointId),
        deliveryToSend(sql, tenantId, deliveryId),
        loadSealed(sql, tenantId, endpointId),
      ]);
      if (recorded) {
        const retryInMs =
          recorded === 'retry'
            ? webhookRetryDelayMs(input.attemptInRound, deps.webhooks.retryFirstMs)
            : undefined;
        return { outcome: recorded, statusCode: null, error: null, ...(retryInMs ? { retryInMs } : {}) };
      }
      if (!endpoint) return { outcome: 'deleted', statusCode: null, error: null };
      // Gone with its event (retention), or delivered meanwhile: nothing to send.
      if (!delivery) return { outcome: 'skipped', statusCode: null, error: null };
      if (delivery.status === 'delivered') return { outcome: 'delivered', statusCode: null, error: null };

      const startedAt = new Date();
      let answer: WebhookAnswer;
      try {
        const sealed = openSealed(deps.imap, tenantId, endpointId, ciphertext);
        const body =
          endpoint.kind === 'slack'
            ? slackBody(delivery.event, deps.webhooks.emailUrlTemplate)
            : standardBody(delivery.event);
        answer = await sendSigned(sealed, webhookMessageId(deliveryId), body, policy(), startedAt);
      } catch (err) {
        const { type, message } = describeFailure(err);
        answer = { status: null, text: '', error: `${type}: ${message}`, durationMs: 0 };
      }
      const verdict = judge(endpoint.kind, answer, input.attemptInRound);
      await recordAttempt(sql, {
        tenantId,
        deliveryId,
        attemptKey: input.attemptKey,
        startedAt,
        durationMs: answer.durationMs,
        statusCode: answer.status,
        error: answer.error,
        response: answer.text,
        outcome: verdict.outcome as AttemptRecord['outcome'],
        nextAttemptAt: verdict.retryInMs === undefined ? null : new Date(Date.now() + verdict.retryInMs),
      });
      if (verdict.outcome === 'disabled') {
        await setEndpointStatus(
          sql,
          tenantId,
          endpointId,
          'disabled',
          `the receiver answered ${answer.error}: disabled, nothing more is sent until resume_webhook`,
        );
      } else if (verdict.outcome === 'needs_attention') {
        await setEndpointStatus(
          sql,
          tenantId,
          endpointId,
          'needs_attention',
          `${input.attemptInRound} attempts in a row failed, the last: ${answer.error}; resume_webhook tries again`,
        );
      }
      metrics.webhookAttempt({
        kind: endpoint.kind,
        outcome: verdict.outcome,
        status: answer.status,
        durationMs: answer.durationMs,
        tenantId,
      });
      return { ...verdict, statusCode: answer.status, error: answer.error };
    },

    async setWebhookEndpointStatus(input: WebhookRef & { status: EndpointStatus; reason: string | null }) {
      await setEndpointStatus(sql, input.tenantId, input.endpointId, input.status, input.reason);
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
