/**
 * The delivery workflow of an endpoint (`webhooks/<tenant>/<endpointId>`), started or woken by
 * signal-with-start: whoever knows there may be something to deliver (create_webhook, resume, the
 * worker's waker) wakes it, and a workflow that is not running (never started, or lost) starts and
 * catches up from the endpoint's cursor in Postgres.
 */

import { searchAttribute, summaryText, TenantId } from '../workflows/search-attributes.js';
import {
  type WebhookDeliveryWorkflow,
  webhookDeliveryContract,
  webhookWakeSignal,
  webhookWorkflowId,
} from '../workflows/webhook-delivery.contract.js';
import type { TemporalAccess } from './deps.js';

export async function wakeWebhookDelivery(
  temporal: Pick<TemporalAccess, 'client' | 'queues' | 'startTimeoutMs'>,
  tenantId: string,
  endpointId: string,
): Promise<void> {
  const workflowId = webhookWorkflowId(tenantId, endpointId);
  await temporal.client.withDeadline(Date.now() + temporal.startTimeoutMs, () =>
    temporal.client.workflow.signalWithStart<WebhookDeliveryWorkflow, []>(
      webhookDeliveryContract.workflowType,
      {
        workflowId,
        taskQueue: temporal.queues[webhookDeliveryContract.taskQueue],
        args: [{ tenantId, endpointId }],
        signal: webhookWakeSignal,
        signalArgs: [],
        typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
        staticSummary: summaryText(`Deliver webhooks to endpoint ${endpointId}`),
      },
    ),
  );
}
