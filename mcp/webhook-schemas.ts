/** Output shapes and arguments shared by the webhook tools (app/webhooks.ts). */
import { z } from 'zod';
import { EVENT_TYPES } from '../core/events.js';

export const endpointIdArg = z.uuid().describe('The webhook id create_webhook or list_webhooks returned');

export const eventTypeArg = z.enum([...EVENT_TYPES, '*']);

export const WebhookViewSchema = {
  endpointId: z.string(),
  kind: z.enum(['standard', 'slack']),
  url: z.string().describe('The URL with its token part masked (a Slack URL is a credential)'),
  description: z.string(),
  eventTypes: z.array(z.string()),
  filter: z.object({ minPriority: z.number().nullable(), categories: z.array(z.string()).nullable() }),
  status: z
    .enum(['active', 'needs_attention', 'disabled'])
    .describe(
      'needs_attention: a delivery failed every retry; disabled: the receiver answered 410. resume_webhook',
    ),
  statusReason: z.string().nullable(),
  statusChangedAt: z.string().nullable(),
  createdAt: z.string(),
  workflowId: z
    .string()
    .describe('The delivery workflow, webhooks/<tenant>/<endpointId>, in the Temporal UI'),
  temporalUiUrl: z.string().optional(),
};

export const DeliveryViewSchema = {
  deliveryId: z.string(),
  endpointId: z.string(),
  webhookId: z.string().describe('The webhook-id header: the same on every attempt and replay'),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  replays: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
};
