/**
 * `get_workflow`: the status, result or failure of a run, and its link in the Temporal Web UI.
 * Only runs of the caller's tenants are visible; any other id reads as not found, so the tool does not
 * reveal which ids exist.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { describeFailure } from '../../core/failure.js';
import { workflowUiUrl } from '../../temporal/client.js';
import { TenantId } from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY } from '../tool-schemas.js';
import { toWorkflowStatus, WorkflowStatus } from './workflow-status.js';

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  workflowType: z.string(),
  status: WorkflowStatus,
  summary: z.string().optional(),
  startTime: z.string(),
  closeTime: z.string().optional(),
  result: z.unknown().optional(),
  failure: z.object({ type: z.string(), message: z.string() }).optional(),
  temporalUiUrl: z.string(),
};

export function registerGetWorkflow(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'get_workflow',
    {
      title: 'Get a workflow run',
      description:
        'Status, result or failure (type and message) of a workflow started by another tool, and the ' +
        'URL of the run in the Temporal Web UI.',
      inputSchema: {
        workflowId: z.string().min(1).max(1000).describe('The workflowId a tool returned'),
        runId: z.string().max(100).optional().describe('A specific run; defaults to the latest'),
      },
      outputSchema,
      annotations: READ_ONLY,
    },
    async ({ workflowId, runId }) => {
      const handle = ctx.client.workflow.getHandle(workflowId, runId);
      const notFound = new UserFacingError(ErrorType.NotFound, `no workflow "${workflowId}" for this caller`);
      const description = await handle.describe().catch((err: unknown) => {
        throw err instanceof WorkflowNotFoundError ? notFound : err;
      });
      const tenant = description.typedSearchAttributes.get(TenantId);
      if (!tenant || !ctx.principal.tenants.some((t) => t.tenantId === tenant)) throw notFound;

      const status = toWorkflowStatus(description.status.name);
      const out: Record<string, unknown> = {
        workflowId,
        runId: description.runId,
        workflowType: description.type,
        status,
        startTime: description.startTime.toISOString(),
        closeTime: description.closeTime?.toISOString(),
        summary: await description.staticSummary(),
        temporalUiUrl: workflowUiUrl(ctx.temporal, workflowId, description.runId),
      };
      if (status !== 'running') {
        const runHandle = ctx.client.workflow.getHandle(workflowId, description.runId);
        await runHandle.result().then(
          (result) => {
            out.result = result;
          },
          (err: unknown) => {
            const { type, message } = describeFailure(err);
            out.failure = { type, message };
          },
        );
      }
      return toolResult(out);
    },
  );
}
