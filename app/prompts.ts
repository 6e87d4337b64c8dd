/**
 * System prompts and their rollouts: who may change them, starting a rollout (`launchRollout`), steering
 * it (`controlRollout`), activating another version at once (`rollbackPrompt`), and reading them
 * (`getPromptRollout`, `listPromptVersions`).
 *
 * Prompts are global product configuration, so changing them is an organization-admin action: the
 * caller must be owner or admin of the organization it acts for (and, when PROMPT_ADMIN_ORGS is set,
 * that organization must be listed). Every change is audited in that organization's audit_log.
 *
 * A rollout is read live from the running workflow (its status query) or from the database row once the
 * workflow has ended; both read the same (RolloutView).
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { ProviderName } from '../core/ai-providers.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { DEFAULT_GATES, DEFAULT_STAGES, type RolloutGates, stagesProblem } from '../core/rollout-gates.js';
import { asCaller } from '../supabase/caller.js';
import { findOpenRollout, findRollout, type PromptRolloutRow } from '../supabase/prompt-rollouts.js';
import {
  activatePromptVersion,
  createPromptVersion,
  findPromptVersion,
  listPromptVersions as listVersions,
  type PromptVersionInfo,
} from '../supabase/prompts.js';
import { findTenant } from '../supabase/tenants.js';
import {
  abortUpdate,
  type PromptRolloutInput,
  type PromptRolloutStatus,
  type PromptRolloutWorkflow,
  pauseSignal,
  promoteUpdate,
  promptRolloutContract,
  promptRolloutWorkflowId,
  resumeSignal,
  type Steering,
  setStageUpdate,
  statusQuery,
} from '../workflows/prompt-rollout.contract.js';
import {
  detailsText,
  PromptTool,
  RolloutStage,
  searchAttribute,
  summaryText,
  TenantId,
} from '../workflows/search-attributes.js';
import type { AppDeps, WaitRequest } from './deps.js';
import { type Action, authorize } from './permissions.js';
import { resolveTenant } from './principal.js';
import { progressOf, waitForWorkflow } from './wait.js';
import { startWorkflow, uiLink, withinCallBound } from './workflows.js';

export interface PromptPair {
  toolName: string;
  provider: string;
}

/** Which prompt a request names: its tool, and its provider (default: the configured one). */
export interface PromptRequest {
  tool: string;
  provider?: ProviderName;
  tenant?: string;
}

export function pairOf(
  deps: Pick<AppDeps, 'ai'>,
  request: { tool: string; provider?: ProviderName },
): PromptPair {
  return { toolName: request.tool, provider: request.provider ?? deps.ai.defaultProvider };
}

// ---- Who may change prompts -----------------------------------------------------------------------

export async function promptAdmin(
  deps: Pick<AppDeps, 'sql' | 'principal' | 'rollouts'>,
  tenant: string | undefined,
  action: Extract<Action, 'start_prompt_rollout' | 'control_prompt_rollout' | 'rollback_prompt'>,
): Promise<Steering> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, tenant);
  authorize(deps.principal, tenantId, action);
  const allowed = deps.rollouts.adminOrgs;
  if (allowed.length > 0) {
    const org = await findTenant(deps.sql, tenantId);
    if (!org || !allowed.some((a) => a === org.id || a === org.slug)) {
      throw new UserFacingError(
        ErrorType.Forbidden,
        `prompts are changed by the admins of ${allowed.join(', ')} (PROMPT_ADMIN_ORGS), not of "${org?.slug ?? tenantId}"`,
      );
    }
  }
  return { actor: deps.principal.actor, tenantId };
}

// ---- A rollout as callers read it -----------------------------------------------------------------

export type RolloutView = PromptRolloutStatus & {
  workflowId: string;
  /** true: read from the running workflow; false: from the database row. */
  live: boolean;
  /** Owners and admins only. */
  temporalUiUrl?: string;
};

/** Who reads a view, for its Temporal UI link: the caller, in the tenant it acts for. */
type Reader = Pick<AppDeps, 'temporal' | 'principal'> & { tenantId: string };

export function liveView(reader: Reader, status: PromptRolloutStatus, runId?: string): RolloutView {
  const workflowId = promptRolloutWorkflowId(status.toolName, status.provider);
  return { ...status, workflowId, live: true, ...uiLink(reader, reader.tenantId, workflowId, runId) };
}

/** The same shape from the row: what a finished (or orphaned) rollout looks like. */
export function rowView(reader: Reader, row: PromptRolloutRow): RolloutView {
  const open = row.status === 'running' || row.status === 'paused';
  const stageStartedAt = row.stageStartedAt?.toISOString() ?? null;
  return {
    rolloutId: row.id,
    toolName: row.toolName,
    provider: row.provider,
    baseline: row.baseline,
    candidate: row.candidate,
    status: row.status,
    stages: row.stages,
    stage: row.stage,
    percent: row.trafficPercent,
    startedBy: row.actor,
    stageStartedAt,
    bakeEndsAt:
      open && row.stageStartedAt
        ? new Date(row.stageStartedAt.getTime() + row.bakeSeconds * 1000).toISOString()
        : null,
    metrics: row.evidence.at(-1)?.metrics ?? null,
    evidence: row.evidence,
    reason: row.reason,
    workflowId: row.workflowId,
    live: false,
    ...uiLink(reader, reader.tenantId, row.workflowId),
  };
}

/** Live while it can still change: running or paused. */
function settledView(reader: Reader, status: PromptRolloutStatus, runId?: string): RolloutView {
  return {
    ...liveView(reader, status, runId),
    live: status.status === 'running' || status.status === 'paused',
  };
}

// ---- The running workflow -------------------------------------------------------------------------

type RolloutHandle = WorkflowHandle<PromptRolloutWorkflow>;

export interface RunningRollout {
  handle: RolloutHandle;
  description: WorkflowExecutionDescription;
}

/** The pair's rollout workflow if it is running, else null. */
export async function runningRollout(
  deps: Pick<AppDeps, 'temporal'>,
  pair: PromptPair,
): Promise<RunningRollout | null> {
  const handle = deps.temporal.client.workflow.getHandle<PromptRolloutWorkflow>(
    promptRolloutWorkflowId(pair.toolName, pair.provider),
  );
  try {
    const description = await withinCallBound(deps.temporal, () => handle.describe());
    return description.status.name === 'RUNNING' ? { handle, description } : null;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** "A rollout is already running" in words that name it: candidate, stage, who started it and when. */
async function rolloutRunningError(running: RunningRollout, pair: PromptPair): Promise<UserFacingError> {
  const s = await running.handle.query(statusQuery).catch(() => null);
  const where = s
    ? `candidate v${s.candidate.version} over v${s.baseline.version}, ${s.status} at ${s.percent}% ` +
      `(stage ${s.stage + 1} of ${s.stages.length}), started by ${s.startedBy}`
    : 'starting';
  return new UserFacingError(
    ErrorType.RolloutRunning,
    `a rollout of ${pair.toolName}/${pair.provider} is already running: ${where}, since ` +
      `${running.description.startTime.toISOString()}. Steer it with control_prompt_rollout ` +
      `(workflow ${running.handle.workflowId}).`,
  );
}

function noRunningRollout(pair: PromptPair, latest: PromptRolloutRow | null): UserFacingError {
  const last = latest
    ? ` (the last one, candidate v${latest.candidate.version}, ended ${latest.status.replace('_', ' ')} at ` +
      `${(latest.finishedAt ?? latest.updatedAt).toISOString()})`
    : '';
  return new UserFacingError(
    ErrorType.NotFound,
    `no rollout of ${pair.toolName}/${pair.provider} is running${last}`,
  );
}

// ---- Starting a rollout ---------------------------------------------------------------------------

export interface LaunchRequest {
  tool: string;
  provider?: ProviderName;
  content?: string;
  description?: string;
  version?: number;
  stages?: number[];
  bakeSeconds?: number;
  minBakeSeconds?: number;
  pollSeconds?: number;
  gates?: Partial<RolloutGates>;
  /** Continue as new after this many history events (tests make it small). */
  maxHistoryEvents?: number;
}

export type LaunchedRollout = RolloutView & { candidateCreated: boolean };

/**
 * Start a rollout as the caller (owner or admin), then wait: with `wait`, for its end (at most waitMs);
 * otherwise until its first stage's traffic is live (at most 15 s).
 */
export async function launchRollout(
  deps: AppDeps,
  request: LaunchRequest & PromptRequest & WaitRequest,
): Promise<LaunchedRollout> {
  const by = await promptAdmin(deps, request.tenant, 'start_prompt_rollout');
  const { handle, candidateCreated } = await startPromptRollout(deps, by, request);
  const status = request.wait
    ? await waitForEnd(deps, handle, request)
    : await waitForFirstStage(handle, Math.min(deps.waitMs, 15_000));
  const reader = { ...deps, tenantId: by.tenantId };
  return { ...settledView(reader, status, handle.firstExecutionRunId), candidateCreated };
}

type StartedRollout = WorkflowHandleWithFirstExecutionRunId<PromptRolloutWorkflow>;

/**
 * Everything a launch does before waiting: check the request, refuse while a rollout runs, close a row
 * an ended workflow left open, create the candidate version, start the workflow. `by` has been checked
 * (promptAdmin).
 */
export async function startPromptRollout(
  deps: Pick<AppDeps, 'temporal' | 'sql' | 'ai' | 'rollouts' | 'log'>,
  by: Steering,
  request: LaunchRequest,
): Promise<{ handle: StartedRollout; candidateCreated: boolean }> {
  const pair = pairOf(deps, request);
  if (Boolean(request.content) === (request.version !== undefined)) {
    throw new UserFacingError(ErrorType.InvalidInput, 'give exactly one of `content` or `version`');
  }
  if (request.content && !request.description) {
    throw new UserFacingError(ErrorType.InvalidInput, 'a new version needs a `description` of the change');
  }
  const stages = request.stages ?? [...DEFAULT_STAGES];
  const problem = stagesProblem(stages);
  if (problem) throw new UserFacingError(ErrorType.InvalidInput, `stages: ${problem}`);
  const bakeSeconds = request.bakeSeconds ?? deps.rollouts.bakeSeconds;
  const minBakeSeconds = request.minBakeSeconds ?? 0;
  if (minBakeSeconds > bakeSeconds) {
    throw new UserFacingError(ErrorType.InvalidInput, 'minBakeSeconds cannot exceed bakeSeconds');
  }
  const gates: RolloutGates = { ...DEFAULT_GATES, ...request.gates };

  const baseline = await findPromptVersion(deps.sql, pair, 'active');
  if (!baseline) {
    throw new UserFacingError(
      ErrorType.NoActivePrompt,
      `no active ${pair.toolName} prompt for provider ${pair.provider}: there is nothing to roll out against`,
    );
  }
  // Refuse before creating anything when a rollout runs; close a row an ended workflow left open.
  const running = await runningRollout(deps, pair);
  if (running) throw await rolloutRunningError(running, pair);
  const orphan = await findOpenRollout(deps.sql, pair);
  if (orphan) {
    await activatePromptVersion(deps.sql, baseline.id, {
      ...by,
      reason: `its workflow ${orphan.workflowId} ended without closing the rollout; closed before a new one`,
    });
    deps.log.warn('closed an orphaned prompt rollout', { rolloutId: orphan.id });
  }

  let candidate: Pick<PromptVersionInfo, 'id' | 'version'>;
  let candidateCreated = false;
  if (request.content) {
    const made = await createPromptVersion(deps.sql, {
      ...by,
      ...pair,
      content: request.content,
      description: request.description!,
    });
    candidate = made;
    candidateCreated = made.created;
  } else {
    const found = await findPromptVersion(deps.sql, pair, request.version!);
    if (!found) {
      throw new UserFacingError(
        ErrorType.NotFound,
        `${pair.toolName}/${pair.provider} has no version ${request.version}`,
      );
    }
    candidate = found;
  }
  if (candidate.id === baseline.id) {
    throw new UserFacingError(
      ErrorType.InvalidInput,
      `the candidate is v${baseline.version}, the active version already: nothing to roll out`,
    );
  }

  const input: PromptRolloutInput = {
    rolloutId: randomUUID(),
    tenantId: by.tenantId,
    actor: by.actor,
    ...pair,
    baseline: { id: baseline.id, version: baseline.version },
    candidate: { id: candidate.id, version: candidate.version },
    stages,
    bakeSeconds,
    minBakeSeconds,
    pollSeconds: request.pollSeconds ?? deps.rollouts.pollSeconds,
    gates,
    maxHistoryEvents: request.maxHistoryEvents,
  };
  const handle = await startRolloutRun(deps, input).catch(async (err: unknown) => {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const now = await runningRollout(deps, pair);
    throw now
      ? await rolloutRunningError(now, pair)
      : new UserFacingError(
          ErrorType.RolloutRunning,
          `a rollout of ${pair.toolName}/${pair.provider} was started at the same moment; see get_prompt_rollout`,
        );
  });
  deps.log.info('prompt rollout started', { actor: by.actor, workflowId: handle.workflowId });
  return { handle, candidateCreated };
}

function startRolloutRun(deps: Pick<AppDeps, 'temporal'>, input: PromptRolloutInput) {
  const stages = input.stages.map((p) => `${p}%`).join(' → ');
  return startWorkflow(deps.temporal, promptRolloutContract, {
    workflowId: promptRolloutWorkflowId(input.toolName, input.provider),
    args: [input],
    // Never two at once; a new rollout may follow a closed one, whatever its outcome.
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      searchAttribute(TenantId, input.tenantId),
      searchAttribute(PromptTool, input.toolName),
      searchAttribute(RolloutStage, 'starting'),
    ],
    staticSummary: summaryText(
      `Roll out ${input.toolName}/${input.provider} v${input.candidate.version} over v${input.baseline.version}: ${stages}`,
    ),
    staticDetails: detailsText(
      `Started by \`${input.actor}\` (tenant \`${input.tenantId}\`)\n\n` +
        `Bake ${input.bakeSeconds}s per stage (at least ${input.minBakeSeconds}s), metrics every ${input.pollSeconds}s\n\n` +
        `Gates: ≥ ${input.gates.minSamplesPerArm} calls per arm · error rate ≤ baseline + ` +
        `${(input.gates.maxErrorRateIncrease * 100).toFixed(1)} points · p95 ≤ ×${input.gates.maxP95LatencyRatio} · ` +
        `valid output ≥ ${(input.gates.minValidOutputRate * 100).toFixed(1)}%`,
    ),
  });
}

/** Until the first stage's traffic is live (or the run failed, e.g. refused by the database). */
async function waitForFirstStage(handle: StartedRollout, waitMs: number): Promise<PromptRolloutStatus> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') return handle.result();
    const status = await handle.query(statusQuery).catch(() => null);
    if (status && (status.stageStartedAt || Date.now() > deadline)) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForEnd(
  deps: Pick<AppDeps, 'waitMs'>,
  handle: StartedRollout,
  request: WaitRequest,
): Promise<PromptRolloutStatus> {
  const outcome = await waitForWorkflow<PromptRolloutStatus, PromptRolloutStatus>(handle, {
    waitMs: deps.waitMs,
    signal: request.signal,
    progress: progressOf(request.onProgress, { query: statusQuery }, (s) => ({
      progress: s.stage + (s.status === 'completed' ? 1 : 0),
      total: s.stages.length,
      message: `${s.status} at ${s.percent}%`,
    })),
  });
  if (outcome.status === 'completed') return outcome.result;
  if (outcome.status === 'failed') throw outcome.error;
  return handle.query(statusQuery);
}

// ---- Steering -------------------------------------------------------------------------------------

export interface ControlRequest extends PromptRequest {
  action: 'pause' | 'resume' | 'promote' | 'abort' | 'setStage';
  /** Why (required for abort). */
  reason?: string;
  /** The stage to move to (setStage). */
  percent?: number;
}

/**
 * Steer the running rollout. pause and resume are signals (this waits until the workflow shows them);
 * promote, abort and setStage are updates whose validators refuse what the rollout's state does not
 * allow, with the reason (`InvalidTransition`).
 */
export async function controlRollout(deps: AppDeps, request: ControlRequest): Promise<RolloutView> {
  const by = await promptAdmin(deps, request.tenant, 'control_prompt_rollout');
  const pair = pairOf(deps, request);
  const running = await runningRollout(deps, pair);
  if (!running) throw noRunningRollout(pair, await findRollout(deps.sql, pair));
  const { handle } = running;
  const runId = running.description.runId;

  const status = await withinCallBound(deps.temporal, () => steer(handle, request, by));
  deps.log.info('prompt rollout steered', {
    actor: by.actor,
    action: request.action,
    workflowId: handle.workflowId,
  });
  return settledView({ ...deps, tenantId: by.tenantId }, status, runId);
}

/** Poll until a signal shows in the workflow's state (it is applied between two workflow tasks). */
/** One steering action on the running rollout: its query, signal or update. */
async function steer(
  handle: RolloutHandle,
  request: ControlRequest,
  by: Awaited<ReturnType<typeof promptAdmin>>,
): Promise<PromptRolloutStatus> {
  switch (request.action) {
    case 'pause':
    case 'resume': {
      const pause = request.action === 'pause';
      const before = await handle.query(statusQuery);
      if ((before.status === 'paused') === pause) {
        throw new UserFacingError(ErrorType.InvalidTransition, `the rollout is already ${before.status}`);
      }
      await handle.signal(pause ? pauseSignal : resumeSignal, by);
      return waitUntil(
        () => handle.query(statusQuery),
        (s) => (s.status === 'paused') === pause,
      );
    }
    case 'promote':
      return handle.executeUpdate(promoteUpdate, { args: [by] });
    case 'abort':
      if (!request.reason) throw new UserFacingError(ErrorType.InvalidInput, 'abort needs a `reason`');
      return handle.executeUpdate(abortUpdate, { args: [{ ...by, reason: request.reason }] });
    case 'setStage':
      if (request.percent === undefined) {
        throw new UserFacingError(ErrorType.InvalidInput, 'setStage needs the `percent` of a stage');
      }
      return handle.executeUpdate(setStageUpdate, { args: [{ ...by, percent: request.percent }] });
  }
}

async function waitUntil<T>(read: () => Promise<T>, done: (t: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- Activating a version at once -----------------------------------------------------------------

export interface RollbackOutcome {
  toolName: string;
  provider: string;
  activeVersion: number;
  previousVersion: number | null;
  /** false when the version was already active. */
  changed: boolean;
  /** A rollout row its workflow had left open, closed by this change. */
  closedRolloutId: string | null;
}

/**
 * Make another version the active one, through the same audited SQL function a rollout uses (history
 * rows, audit row, one transaction). Refused while a rollout runs: abort it first, so two paths never
 * fight over traffic.
 */
export async function rollbackPrompt(
  deps: AppDeps,
  request: PromptRequest & { version: number; reason: string },
): Promise<RollbackOutcome> {
  const by = await promptAdmin(deps, request.tenant, 'rollback_prompt');
  const pair = pairOf(deps, request);
  const running = await runningRollout(deps, pair);
  if (running) throw await rolloutRunningError(running, pair);
  const target = await findPromptVersion(deps.sql, pair, request.version);
  if (!target) {
    throw new UserFacingError(
      ErrorType.NotFound,
      `${pair.toolName}/${pair.provider} has no version ${request.version}`,
    );
  }
  const result = await activatePromptVersion(deps.sql, target.id, { ...by, reason: request.reason });
  deps.log.info('prompt version activated', { actor: by.actor, ...pair, version: target.version });
  return {
    ...pair,
    activeVersion: result.activeVersion,
    previousVersion: result.previousVersion,
    changed: result.changed,
    closedRolloutId: result.rolloutId,
  };
}

// ---- Reading --------------------------------------------------------------------------------------

/** The running rollout (live), else the latest or the given one from the database, read as the caller. */
export async function getPromptRollout(
  deps: AppDeps,
  request: PromptRequest & { rolloutId?: string },
): Promise<RolloutView> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'get_prompt_rollout');
  const reader = { ...deps, tenantId };
  const pair = pairOf(deps, request);
  const running = await runningRollout(deps, pair);
  if (running) {
    const live = await withinCallBound(deps.temporal, () => running.handle.query(statusQuery));
    if (!request.rolloutId || request.rolloutId === live.rolloutId) {
      return liveView(reader, live, running.description.runId);
    }
  }
  const row = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    findRollout(tx, pair, request.rolloutId),
  );
  if (!row) {
    throw new UserFacingError(
      ErrorType.NotFound,
      request.rolloutId
        ? `no rollout ${request.rolloutId} of ${pair.toolName}/${pair.provider}`
        : `${pair.toolName}/${pair.provider} has never been rolled out`,
    );
  }
  return rowView(reader, row);
}

export interface PromptVersionView {
  id: string;
  provider: string;
  version: number;
  active: boolean;
  contentSha256: string;
  createdBy: string;
  changeDescription: string;
  createdAt: string;
  content?: string;
  /** Set while this version is in an open rollout. */
  rollout?: { rolloutId: string; role: 'baseline' | 'candidate'; status: string; percent: number };
}

/** A tool's versions (all providers, or one), newest first, with any open rollout; read as the caller. */
export async function listPromptVersions(
  deps: AppDeps,
  request: {
    tool: string;
    provider?: ProviderName;
    includeContent?: boolean;
    limit?: number;
    tenant?: string;
  },
): Promise<{ versions: PromptVersionView[] }> {
  authorize(
    deps.principal,
    await resolveTenant(deps.sql, deps.principal, request.tenant),
    'list_prompt_versions',
  );
  const versions = await asCaller(deps.sql, deps.principal.claims, async (tx) => {
    const rows = await listVersions(tx, {
      toolName: request.tool,
      provider: request.provider,
      limit: request.limit ?? 50,
      includeContent: request.includeContent ?? false,
    });
    const providers = [...new Set(rows.map((r) => r.provider))];
    const open = await Promise.all(
      providers.map((provider) => findOpenRollout(tx, { toolName: request.tool, provider })),
    );
    return rows.map((r): PromptVersionView => {
      const rollout = open.find((o) => o && (o.baseline.id === r.id || o.candidate.id === r.id));
      return {
        id: r.id,
        provider: r.provider,
        version: r.version,
        active: r.isActive,
        contentSha256: r.contentSha256,
        createdBy: r.createdBy,
        changeDescription: r.changeDescription,
        createdAt: r.createdAt.toISOString(),
        content: r.content,
        rollout: rollout
          ? {
              rolloutId: rollout.id,
              role: rollout.candidate.id === r.id ? 'candidate' : 'baseline',
              status: rollout.status,
              percent: rollout.trafficPercent,
            }
          : undefined,
      };
    });
  });
  return { versions };
}
