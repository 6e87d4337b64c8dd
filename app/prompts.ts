/**
 * System prompts and their rollouts: who may change them, starting a rollout (`launchRollout`), steering
 * it (`controlRollout`), activating another version at once (`rollbackPrompt`), and reading them
 * (`getPromptRollout`, `listPromptVersions`).
 *
 * Prompts have a scope (`scope`): every tenant has its own versions (`tenant`, the default) and inherits
 * the global default set (`global`) for as long as it has no version of its own active. A tenant's owners
 * and admins change only their own tenant's prompts, and its rollouts serve only its own mail. The global
 * set is changed only by the operator organization: the organizations PROMPT_ADMIN_ORGS names when it is
 * set, else the operator organization of retention (RETENTION_OPERATOR_TENANT, by default the
 * deployment's own DURABLE_INBOX_TENANT; app/retention.ts requireOperator). Every change is audited in
 * the log of the tenant whose prompt changed (a global change: the operator organization's).
 *
 * Reads show the caller's scope and the global versions it inherits, marked by `scope`; another tenant's
 * versions and rollouts read exactly like missing ones.
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
  type PromptScopeName,
  type PromptVersionInfo,
  scopeName,
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
import { priorityFor } from './priority.js';
import { requireOperator } from './retention.js';
import { progressOf, waitForWorkflow } from './wait.js';
import { executeUpdate, startWorkflow, uiLink, withinCallBound } from './workflows.js';

export interface PromptPair {
  toolName: string;
  provider: string;
}

/** Which prompt a request names: its tool, its provider (default: the configured one) and its scope. */
export interface PromptRequest {
  tool: string;
  provider?: ProviderName;
  tenant?: string;
  /** The caller's tenant's own prompt (default), or the global default set. */
  scope?: PromptScopeName;
}

/** A pair in one scope: the tenant's id, or null for the global default set. */
export type ScopedPair = PromptPair & { scopeTenantId: string | null };

/** "analyze_email/openai" for a tenant's own prompt, "the global analyze_email/openai" for the default. */
function pairText(pair: ScopedPair): string {
  return `${pair.scopeTenantId === null ? 'the global ' : ''}${pair.toolName}/${pair.provider}`;
}

export function pairOf(
  deps: Pick<AppDeps, 'ai'>,
  request: { tool: string; provider?: ProviderName },
): PromptPair {
  return { toolName: request.tool, provider: request.provider ?? deps.ai.defaultProvider };
}

// ---- Who may change prompts -----------------------------------------------------------------------

/** Who changes a prompt, and in which scope (its own tenant's, or the global set). */
export type ScopedSteering = Steering & { scopeTenantId: string | null };

/**
 * The caller may change prompts in the scope it names: its own tenant's (owner or admin there), or the
 * global default set (owner or admin of the operator organization: PROMPT_ADMIN_ORGS when set, else
 * RETENTION_OPERATOR_TENANT's). A global change is made, and audited, as the operator organization.
 */
export async function promptAdmin(
  deps: Pick<AppDeps, 'sql' | 'principal' | 'rollouts' | 'retention'>,
  request: { tenant?: string; scope?: PromptScopeName },
  action: Extract<Action, 'start_prompt_rollout' | 'control_prompt_rollout' | 'rollback_prompt'>,
): Promise<ScopedSteering> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, action);
  const actor = deps.principal.actor;
  if (request.scope !== 'global') return { actor, tenantId, scopeTenantId: tenantId };
  const allowed = deps.rollouts.adminOrgs;
  if (allowed.length === 0) {
    const operator = await requireOperator(deps, 'changing the global default prompts', action);
    return { actor, tenantId: operator, scopeTenantId: null };
  }
  const org = await findTenant(deps.sql, tenantId);
  if (!org || !allowed.some((a) => a === org.id || a === org.slug)) {
    throw new UserFacingError(
      ErrorType.Forbidden,
      `the global default prompts are changed by the admins of ${allowed.join(', ')} (PROMPT_ADMIN_ORGS), not of "${org?.slug ?? tenantId}"`,
    );
  }
  return { actor, tenantId, scopeTenantId: null };
}

/** The scope a reader names: its own tenant's prompt (default) or the global set it inherits. */
function readScope(tenantId: string, scope: PromptScopeName | undefined): string | null {
  return scope === 'global' ? null : tenantId;
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
  // A reader only ever reads its own tenant's rollouts and the global ones (runs started before
  // prompts were per tenant report no scope: they are global).
  const scopeTenantId = status.scope === 'tenant' ? reader.tenantId : null;
  const workflowId = promptRolloutWorkflowId(scopeTenantId, status.toolName, status.provider);
  return { ...status, workflowId, live: true, ...uiLink(reader, reader.tenantId, workflowId, runId) };
}

/** The same shape from the row: what a finished (or orphaned) rollout looks like. */
export function rowView(reader: Reader, row: PromptRolloutRow): RolloutView {
  const open = row.status === 'running' || row.status === 'paused';
  const stageStartedAt = row.stageStartedAt?.toISOString() ?? null;
  return {
    rolloutId: row.id,
    scope: row.scope,
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

/** The scope's rollout workflow of the pair if it is running, else null. */
export async function runningRollout(
  deps: Pick<AppDeps, 'temporal'>,
  pair: ScopedPair,
): Promise<RunningRollout | null> {
  const handle = deps.temporal.client.workflow.getHandle<PromptRolloutWorkflow>(
    promptRolloutWorkflowId(pair.scopeTenantId, pair.toolName, pair.provider),
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
async function rolloutRunningError(running: RunningRollout, pair: ScopedPair): Promise<UserFacingError> {
  const s = await running.handle.query(statusQuery).catch(() => null);
  const where = s
    ? `candidate v${s.candidate.version} over v${s.baseline.version}, ${s.status} at ${s.percent}% ` +
      `(stage ${s.stage + 1} of ${s.stages.length}), started by ${s.startedBy}`
    : 'starting';
  return new UserFacingError(
    ErrorType.RolloutRunning,
    `a rollout of ${pairText(pair)} is already running: ${where}, since ` +
      `${running.description.startTime.toISOString()}. Steer it with control_prompt_rollout ` +
      `(workflow ${running.handle.workflowId}).`,
  );
}

function noRunningRollout(pair: ScopedPair, latest: PromptRolloutRow | null): UserFacingError {
  const last = latest
    ? ` (the last one, candidate v${latest.candidate.version}, ended ${latest.status.replace('_', ' ')} at ` +
      `${(latest.finishedAt ?? latest.updatedAt).toISOString()})`
    : '';
  return new UserFacingError(ErrorType.NotFound, `no rollout of ${pairText(pair)} is running${last}`);
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
  const by = await promptAdmin(deps, request, 'start_prompt_rollout');
  const { handle, candidateCreated } = await startPromptRollout(deps, by, request);
  const status = request.wait
    ? await waitForEnd(deps, handle, request)
    : await waitForFirstStage(handle, Math.min(deps.waitMs, 15_000));
  return { ...settledView(readerOf(deps, by), status, handle.firstExecutionRunId), candidateCreated };
}

type StartedRollout = WorkflowHandleWithFirstExecutionRunId<PromptRolloutWorkflow>;

/**
 * Everything a launch does before waiting: check the request, refuse while a rollout runs, close a row
 * an ended workflow left open, create the candidate version, start the workflow. `by` has been checked
 * (promptAdmin), and names the scope: the candidate is a version of that scope, the baseline whatever
 * serves the scope now (for a tenant without a version of its own, the global one).
 */
export async function startPromptRollout(
  deps: Pick<AppDeps, 'temporal' | 'sql' | 'ai' | 'rollouts' | 'log'>,
  by: ScopedSteering,
  request: LaunchRequest,
): Promise<{ handle: StartedRollout; candidateCreated: boolean }> {
  const pair: ScopedPair = { ...pairOf(deps, request), scopeTenantId: by.scopeTenantId };
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

  const baseline = await findPromptVersion(deps.sql, pair, 'serving');
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
    if (!found) throw noSuchVersion(pair, request.version!);
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
          `a rollout of ${pairText(pair)} was started at the same moment; see get_prompt_rollout`,
        );
  });
  deps.log.info('prompt rollout started', { actor: by.actor, workflowId: handle.workflowId });
  return { handle, candidateCreated };
}

/** The same text for a version that does not exist and for another tenant's: both are missing here. */
function noSuchVersion(pair: ScopedPair, version: number): UserFacingError {
  return new UserFacingError(ErrorType.NotFound, `${pairText(pair)} has no version ${version}`);
}

async function startRolloutRun(deps: Pick<AppDeps, 'temporal' | 'sql'>, input: PromptRolloutInput) {
  const stages = input.stages.map((p) => `${p}%`).join(' → ');
  return startWorkflow(deps.temporal, promptRolloutContract, {
    // Background work that waits on timers and gates: below anything a caller waits for.
    priority: await priorityFor(deps.sql, input.tenantId, 'bulk'),
    workflowId: promptRolloutWorkflowId(input.scopeTenantId ?? null, input.toolName, input.provider),
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
      `Roll out ${input.scopeTenantId ? '' : 'global '}${input.toolName}/${input.provider} ` +
        `v${input.candidate.version} over v${input.baseline.version}: ${stages}`,
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
  const by = await promptAdmin(deps, request, 'control_prompt_rollout');
  const pair: ScopedPair = { ...pairOf(deps, request), scopeTenantId: by.scopeTenantId };
  const running = await runningRollout(deps, pair);
  if (!running) throw noRunningRollout(pair, await findRollout(deps.sql, pair, [pair.scopeTenantId]));
  const { handle } = running;
  const runId = running.description.runId;

  const status = await withinCallBound(deps.temporal, () => steer(handle, request, by));
  deps.log.info('prompt rollout steered', {
    actor: by.actor,
    action: request.action,
    workflowId: handle.workflowId,
  });
  return settledView(readerOf(deps, by), status, runId);
}

/** The reader of a steering caller's views: its own tenant for a tenant's rollout. */
function readerOf(deps: Pick<AppDeps, 'temporal' | 'principal'>, by: ScopedSteering): Reader {
  return { ...deps, tenantId: by.scopeTenantId ?? by.tenantId };
}

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
      return executeUpdate(handle, promoteUpdate, [by]);
    case 'abort':
      if (!request.reason) throw new UserFacingError(ErrorType.InvalidInput, 'abort needs a `reason`');
      return executeUpdate(handle, abortUpdate, [{ ...by, reason: request.reason }]);
    case 'setStage':
      if (request.percent === undefined) {
        throw new UserFacingError(ErrorType.InvalidInput, 'setStage needs the `percent` of a stage');
      }
      return executeUpdate(handle, setStageUpdate, [{ ...by, percent: request.percent }]);
  }
}

/** Poll until a signal shows in the workflow's state (it is applied between two workflow tasks). */
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
  /** The scope that changed. */
  scope: PromptScopeName;
  /** Whose version serves the scope now: its own, or (a tenant back on the default) the global one. */
  activeScope: PromptScopeName;
  activeVersion: number;
  previousVersion: number | null;
  /** false when the version was already active. */
  changed: boolean;
  /** A rollout row its workflow had left open, closed by this change. */
  closedRolloutId: string | null;
}

/**
 * Make another version of the scope the active one, through the same audited SQL function a rollout uses
 * (history rows, audit row, one transaction); `version: "global"` in a tenant's scope drops the tenant's
 * own version, so it is served by the global default again. Refused while a rollout of the scope runs:
 * abort it first, so two paths never fight over traffic.
 */
export async function rollbackPrompt(
  deps: AppDeps,
  request: PromptRequest & { version: number | 'global'; reason: string },
): Promise<RollbackOutcome> {
  const by = await promptAdmin(deps, request, 'rollback_prompt');
  const pair: ScopedPair = { ...pairOf(deps, request), scopeTenantId: by.scopeTenantId };
  if (request.version === 'global' && pair.scopeTenantId === null) {
    throw new UserFacingError(
      ErrorType.InvalidInput,
      '`version: "global"` returns a tenant to the global default; in the global scope give a version number',
    );
  }
  const running = await runningRollout(deps, pair);
  if (running) throw await rolloutRunningError(running, pair);
  const target =
    request.version === 'global'
      ? await findPromptVersion(deps.sql, { ...pair, scopeTenantId: null }, 'serving')
      : await findPromptVersion(deps.sql, pair, request.version);
  if (!target) {
    throw request.version === 'global'
      ? new UserFacingError(
          ErrorType.NoActivePrompt,
          `${pairText({ ...pair, scopeTenantId: null })} has no active version`,
        )
      : noSuchVersion(pair, request.version);
  }
  const result = await activatePromptVersion(deps.sql, target.id, { ...by, reason: request.reason });
  deps.log.info('prompt version activated', { actor: by.actor, ...pair, version: target.version });
  return {
    toolName: pair.toolName,
    provider: pair.provider,
    scope: scopeName(pair.scopeTenantId),
    activeScope: target.scope,
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
  const pair: ScopedPair = { ...pairOf(deps, request), scopeTenantId: readScope(tenantId, request.scope) };
  // By id: the caller's own rollouts and the global ones; another tenant's reads like a missing one.
  const scopes = request.rolloutId ? [tenantId, null] : [pair.scopeTenantId];
  for (const scopeTenantId of scopes) {
    const running = await runningRollout(deps, { ...pair, scopeTenantId });
    if (!running) continue;
    const live = await withinCallBound(deps.temporal, () => running.handle.query(statusQuery));
    if (!request.rolloutId || request.rolloutId === live.rolloutId) {
      return liveView(reader, live, running.description.runId);
    }
  }
  const row = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    findRollout(tx, pair, scopes, request.rolloutId),
  );
  if (!row) {
    throw new UserFacingError(
      ErrorType.NotFound,
      request.rolloutId
        ? `no rollout ${request.rolloutId} of ${pair.toolName}/${pair.provider}`
        : pair.scopeTenantId
          ? `${pairText(pair)} has never been rolled out in your organization (the global default's rollouts: \`scope: "global"\`)`
          : `${pairText(pair)} has never been rolled out`,
    );
  }
  return rowView(reader, row);
}

export interface PromptVersionView {
  id: string;
  /** `tenant`: the caller's own; `global`: the default set, inherited while the tenant has none active. */
  scope: PromptScopeName;
  provider: string;
  version: number;
  /** Active in its scope. */
  active: boolean;
  /** The version that serves the caller's mail outside a rollout. */
  serving: boolean;
  contentSha256: string;
  createdBy: string;
  changeDescription: string;
  createdAt: string;
  content?: string;
  /** Set while this version is in an open rollout. */
  rollout?: { rolloutId: string; role: 'baseline' | 'candidate'; status: string; percent: number };
}

/**
 * A tool's versions (all providers, or one) that the caller's tenant sees: its own and the global ones it
 * inherits (or one scope of the two), own first, newest first, with any open rollout; read as the caller.
 */
export async function listPromptVersions(
  deps: AppDeps,
  request: {
    tool: string;
    provider?: ProviderName;
    includeContent?: boolean;
    limit?: number;
    tenant?: string;
    scope?: PromptScopeName;
  },
): Promise<{ versions: PromptVersionView[] }> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'list_prompt_versions');
  const versions = await asCaller(deps.sql, deps.principal.claims, async (tx) => {
    const rows = await listVersions(tx, {
      tenantId,
      scope: request.scope,
      toolName: request.tool,
      provider: request.provider,
      limit: request.limit ?? 50,
      includeContent: request.includeContent ?? false,
    });
    const providers = [...new Set(rows.map((r) => r.provider))];
    const open = await Promise.all(
      providers.flatMap((provider) =>
        [tenantId, null].map((scopeTenantId) =>
          findOpenRollout(tx, { toolName: request.tool, provider, scopeTenantId }),
        ),
      ),
    );
    return rows.map((r): PromptVersionView => {
      // A version's own scope's rollout first (a global version can be a tenant rollout's baseline).
      const inRollout = (o: PromptRolloutRow | null) =>
        o && o.provider === r.provider && (o.baseline.id === r.id || o.candidate.id === r.id);
      const rollout = open.find((o) => inRollout(o) && o!.scope === 'tenant') ?? open.find(inRollout);
      return {
        id: r.id,
        scope: r.scope,
        provider: r.provider,
        version: r.version,
        active: r.isActive,
        serving: r.serving,
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
