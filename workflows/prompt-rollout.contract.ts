/**
 * Contract of the prompt rollout (workflows/prompt-rollout.ts): input, status, the steering messages,
 * the workflow id, queue and activity options.
 *
 * One run per scope and tool/provider: the id is `prompt-rollout/<tool>/<provider>` for the global default
 * set and `prompt-rollout/tenant/<tenantId>/<tool>/<provider>` for one tenant's prompt, and starts use the
 * conflict policy FAIL, so a second concurrent rollout in a scope is impossible (the database's
 * one-open-rollout-per-scope index is the second wall).
 *
 * Steering: signals pause/resume (the caller polls the status until it shows), validated updates
 * promote/abort/setStage (they return once applied, or fail with `InvalidTransition`), query status.
 */
import { type ActivityOptions, defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RolloutGates, RolloutMetrics, StageEvidence } from '../core/rollout-gates.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { QUICK_RETRY } from './retry-presets.js';

export type RolloutStatusName = 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';

export interface PromptRef {
  id: string;
  version: number;
}

/** Who steers: recorded in the audit log of their organization. */
export interface Steering {
  actor: string;
  tenantId: string;
}

export interface PromptRolloutInput {
  /** The prompt_rollouts row this run drives. */
  rolloutId: string;
  /** Who started it: the organization the starter acted for. */
  tenantId: string;
  /**
   * The prompt scope: the tenant whose prompt this rolls out (its audit log gets every row), or null
   * for the global default set. Absent in runs started before prompts were per tenant: global.
   */
  scopeTenantId?: string | null;
  actor: string;
  toolName: string;
  provider: string;
  baseline: PromptRef;
  candidate: PromptRef;
  /** Traffic percent of each stage, rising, ending at 100. */
  stages: number[];
  /** A stage ends when this has passed, or earlier once both arms have `gates.minSamplesPerArm` calls. */
  bakeSeconds: number;
  /** ...but never before this. */
  minBakeSeconds: number;
  /** How often the stage's metrics are read while it bakes. */
  pollSeconds: number;
  gates: RolloutGates;
  /** Continue as new once the history has this many events (or when Temporal suggests it). */
  maxHistoryEvents?: number;
  /** Carried across continue-as-new. */
  carried?: CarriedState;
}

export interface PromptRolloutStatus {
  rolloutId: string;
  /** Whose prompt: one tenant's own, or the global default set. */
  scope: 'global' | 'tenant';
  toolName: string;
  provider: string;
  baseline: PromptRef;
  candidate: PromptRef;
  status: RolloutStatusName;
  stages: number[];
  /** Index into stages of the current (or last) stage. */
  stage: number;
  /** The candidate's traffic percent now. */
  percent: number;
  startedBy: string;
  /** When the current stage's window began (database clock). */
  stageStartedAt: string | null;
  /** When the current stage's bake time ends; a paused stage holds past it. */
  bakeEndsAt: string | null;
  /** The current stage's figures so far. */
  metrics: RolloutMetrics | null;
  /** Every gate evaluation, oldest first. */
  evidence: StageEvidence[];
  reason: string | null;
}

export const pauseSignal = defineSignal<[Steering]>('pause');
export const resumeSignal = defineSignal<[Steering]>('resume');
/** Jump to the last (100%) stage; that stage still bakes and is gated before the candidate is activated. */
export const promoteUpdate = defineUpdate<PromptRolloutStatus, [Steering]>('promote');
/** Roll back now: traffic to 0, status aborted, with the reason. */
export const abortUpdate = defineUpdate<PromptRolloutStatus, [Steering & { reason: string }]>('abort');
/** Move to another stage of the plan, up or down; the stage window restarts. */
export const setStageUpdate = defineUpdate<PromptRolloutStatus, [Steering & { percent: number }]>('setStage');
export const statusQuery = defineQuery<PromptRolloutStatus>('status');

/** The rollout's workflow id in its scope: a tenant id, or null for the global default set. */
export function promptRolloutWorkflowId(
  scopeTenantId: string | null,
  toolName: string,
  provider: string,
): string {
  return scopeTenantId === null
    ? `prompt-rollout/${toolName}/${provider}`
    : `prompt-rollout/tenant/${scopeTenantId}/${toolName}/${provider}`;
}

/** Everything a continued run needs; small and plain (it is the next run's input). */
export interface CarriedState {
  opened: boolean;
  status: RolloutStatusName;
  stage: number;
  /** Whether the traffic of `stage` has been set (its window started). */
  entered: boolean;
  percent: number;
  stageStartedAt: string | null;
  /** Workflow-clock start of the stage, for the bake timer. */
  stageStartedMs: number | null;
  /** Start of the first stage: the baseline's window at 100%, where the baseline serves nothing. */
  rolloutStartedAt: string | null;
  metrics: RolloutMetrics | null;
  evidence: StageEvidence[];
  evaluations: number;
  reason: string | null;
}

export type PromptRolloutWorkflow = (input: PromptRolloutInput) => Promise<PromptRolloutStatus>;
export const promptRolloutContract: WorkflowContract<PromptRolloutWorkflow> =
  workflowContract<PromptRolloutWorkflow>('promptRolloutWorkflow');

export const promptRolloutActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  // Unlimited attempts: a database outage delays the rollout, it never loses its state.
  retry: QUICK_RETRY,
};
