/**
 * `get_workflow`: the status, result or failure of a run, and its link in the Temporal Web UI
 * (app/runs.ts: getWorkflow). Only runs of the caller's tenants are visible.
 */
import { z } from 'zod';
import { getWorkflow } from '../../app/runs.js';
import { WorkflowStatusSchema } from '../../core/records.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY } from '../tool-schemas.js';

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  workflowType: z.string(),
  status: WorkflowStatusSchema,
  summary: z.string().optional(),
  startTime: z.string(),
  closeTime: z.string().optional(),
  result: z.unknown().optional(),
  failure: z.object({ type: z.string(), message: z.string() }).optional(),
  temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
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
    async (args) => toolResult({ ...(await getWorkflow(ctx, args)) }),
  );
}
