/**
 * `getWorkflow`: the status, result or failure of a run, and its link in the Temporal Web UI. Only runs
 * of the caller's tenants are visible; any other id reads as not found, so nobody learns which ids exist.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import type { WorkflowStatus } from '../core/records.js';
import { TenantId } from '../workflows/search-attributes.js';
import type { AppDeps } from './deps.js';
import { authorize } from './permissions.js';
import { toWorkflowStatus, uiLink, withinCallBound } from './workflows.js';

export interface WorkflowRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: WorkflowStatus;
  summary?: string;
  startTime: string;
  closeTime?: string;
  result?: unknown;
  failure?: { type: string; message: string };
  /** Owners and admins only. */
  temporalUiUrl?: string;
}

export function getWorkflow(
  deps: Pick<AppDeps, 'temporal' | 'principal'>,
  request: { workflowId: string; runId?: string },
): Promise<WorkflowRun> {
  // Describing the run and reading a closed run's result: both within the call bound.
  return withinCallBound(deps.temporal, () => readWorkflow(deps, request));
}

async function readWorkflow(
  deps: Pick<AppDeps, 'temporal' | 'principal'>,
  request: { workflowId: string; runId?: string },
): Promise<WorkflowRun> {
  const { workflowId } = request;
  const { client } = deps.temporal;
  const handle = client.workflow.getHandle(workflowId, request.runId);
  const notFound = new UserFacingError(ErrorType.NotFound, `no workflow "${workflowId}" for this caller`);
  const description = await handle.describe().catch((err: unknown) => {
    throw err instanceof WorkflowNotFoundError ? notFound : err;
  });
  const tenant = description.typedSearchAttributes.get(TenantId);
  if (!tenant || !deps.principal.tenants.some((t) => t.tenantId === tenant)) throw notFound;
  authorize(deps.principal, tenant, 'get_workflow');

  const status = toWorkflowStatus(description.status.name);
  const out: WorkflowRun = {
    workflowId,
    runId: description.runId,
    workflowType: description.type,
    status,
    startTime: description.startTime.toISOString(),
    closeTime: description.closeTime?.toISOString(),
    summary: await description.staticSummary(),
    ...uiLink(deps, tenant, workflowId, description.runId),
  };
  if (status !== 'running') {
    const runHandle = client.workflow.getHandle(workflowId, description.runId);
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
  return out;
}
