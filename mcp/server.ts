/**
 * The MCP server: one registerTool per tool, each with zod input and output schemas; the resources
 * (mcp/resources.ts) and their subscriptions (mcp/subscriptions.ts).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolContext } from './context.js';
import { registerResources } from './resources.js';
import { enableSubscriptions, type SubscriptionOptions } from './subscriptions.js';
import { adoptSdkRefusals, guardedRegistry } from './tool-registry.js';
import { registerAnalyzeEmail } from './tools/analyze-email.js';
import { registerConnectMailbox } from './tools/connect-mailbox.js';
import { registerControlPromptRollout } from './tools/control-prompt-rollout.js';
import { registerCreateWebhook } from './tools/create-webhook.js';
import { registerDeleteWebhook } from './tools/delete-webhook.js';
import { registerDisconnectMailbox } from './tools/disconnect-mailbox.js';
import { registerEmailRetentionPolicy } from './tools/email-retention-policy.js';
import { registerGetEmail } from './tools/get-email.js';
import { registerGetMailbox } from './tools/get-mailbox.js';
import { registerGetPromptRollout } from './tools/get-prompt-rollout.js';
import { registerGetWorkflow } from './tools/get-workflow.js';
import { registerInboundAddresses } from './tools/inbound-addresses.js';
import { registerIngestEmail } from './tools/ingest-email.js';
import { registerIngestMailbox } from './tools/ingest-mailbox.js';
import { registerListMailboxes } from './tools/list-mailboxes.js';
import { registerListPromptVersions } from './tools/list-prompt-versions.js';
import { registerListWebhookDeliveries } from './tools/list-webhook-deliveries.js';
import { registerListWebhooks } from './tools/list-webhooks.js';
import { registerPauseMailbox } from './tools/pause-mailbox.js';
import { registerPerformanceReport } from './tools/performance-report.js';
import { registerReplayWebhookDelivery } from './tools/replay-webhook-delivery.js';
import { registerResumeMailbox } from './tools/resume-mailbox.js';
import { registerResumeWebhook } from './tools/resume-webhook.js';
import { registerResyncMailbox } from './tools/resync-mailbox.js';
import { registerRetentionRunNow } from './tools/retention-run-now.js';
import { registerRetentionSchedule } from './tools/retention-schedule.js';
import { registerRollbackPrompt } from './tools/rollback-prompt.js';
import { registerRotateWebhookSecret } from './tools/rotate-webhook-secret.js';
import { registerSearchEmails } from './tools/search-emails.js';
import { registerStartPromptRollout } from './tools/start-prompt-rollout.js';
import { registerTestWebhook } from './tools/test-webhook.js';
import { registerUploadFile } from './tools/upload-file.js';

export const SERVER_INFO = { name: 'durable-inbox', version: '0.1.0' };

export function createMcpServer(ctx: ToolContext, sessions: SubscriptionOptions = {}): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions:
      'Tools that start durable Temporal workflows for an email inbox backend. Long-running tools return ' +
      'a workflowId; use get_workflow to follow it, or subscribe to run://<workflowId>. Every run links to ' +
      'the Temporal Web UI. Subscribe to inbox://recent, email://<id> or thread://<id> to hear of new mail ' +
      'and analyses as they are committed.',
    capabilities: { resources: { subscribe: true, listChanged: true } },
  });
  adoptSdkRefusals(server, ctx.log);
  const tools = guardedRegistry(server, ctx.log, ctx.traceTool);
  registerIngestEmail(tools, ctx);
  registerIngestMailbox(tools, ctx);
  registerUploadFile(tools, ctx);
  registerAnalyzeEmail(tools, ctx);
  registerGetWorkflow(tools, ctx);
  registerSearchEmails(tools, ctx);
  registerGetEmail(tools, ctx);
  registerStartPromptRollout(tools, ctx);
  registerControlPromptRollout(tools, ctx);
  registerGetPromptRollout(tools, ctx);
  registerListPromptVersions(tools, ctx);
  registerRollbackPrompt(tools, ctx);
  registerRetentionRunNow(tools, ctx);
  registerRetentionSchedule(tools, ctx);
  registerPerformanceReport(tools, ctx);
  registerEmailRetentionPolicy(tools, ctx);
  registerInboundAddresses(tools, ctx);
  registerResources(server, ctx);
  enableSubscriptions(server, ctx, sessions);
  registerConnectMailbox(tools, ctx);
  registerListMailboxes(tools, ctx);
  registerGetMailbox(tools, ctx);
  registerPauseMailbox(tools, ctx);
  registerResumeMailbox(tools, ctx);
  registerResyncMailbox(tools, ctx);
  registerDisconnectMailbox(tools, ctx);
  registerCreateWebhook(tools, ctx);
  registerListWebhooks(tools, ctx);
  registerDeleteWebhook(tools, ctx);
  registerTestWebhook(tools, ctx);
  registerListWebhookDeliveries(tools, ctx);
  registerReplayWebhookDelivery(tools, ctx);
  registerRotateWebhookSecret(tools, ctx);
  registerResumeWebhook(tools, ctx);
  return server;
}
