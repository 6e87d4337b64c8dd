/**
 * Prompt-rollout activities: every database step of the prompt-rollout workflow. Each is idempotent
 * (the SQL functions recognise a repeat: same stage, same evidence seq, rollout already closed), so
 * Temporal may run any of them twice. Refusals from the database (a rollout already open, a baseline
 * that is no longer active) become non-retryable failures with a readable type.
 */

import { Context } from '@temporalio/activity';
import { metrics as appMetrics } from '../core/metrics.js';
import {
  evaluateGates,
  type RolloutGates,
  type RolloutMetrics,
  type StageEvidence,
} from '../core/rollout-gates.js';
import type { Sql } from '../supabase/db.js';
import {
  measureRollout,
  type OpenRolloutRequest,
  openPromptRollout,
  recordRolloutEvidence,
  type StageChange,
  setPromptRolloutStage,
} from '../supabase/prompt-rollouts.js';
import {
  type Activation,
  activatePromptVersion,
  type PromptActor,
  type PromptScope,
} from '../supabase/prompts.js';

export interface PromptRolloutActivityDeps {
  sql: Sql;
}

export interface RolloutWindow {
  /** The rollout's scope: a tenant's rollout is measured on that tenant's calls only. */
  scopeTenantId?: string | null;
  baselineId: string;
  candidateId: string;
  /** ISO timestamps, by the database clock. */
  baselineSince: string;
  candidateSince: string;
}

export interface EvaluateStageInput extends RolloutWindow {
  rolloutId: string;
  seq: number;
  stage: number;
  percent: number;
  gates: RolloutGates;
}

export interface FinishRolloutInput extends PromptActor, Partial<PromptScope> {
  rolloutId: string;
  /** The version active afterwards: the candidate when completed, else the baseline. */
  promptId: string;
  outcome: 'completed' | 'rolled_back' | 'aborted';
  reason: string;
}

const windowOf = (w: RolloutWindow) => ({
  scopeTenantId: w.scopeTenantId ?? null,
  baselineId: w.baselineId,
  candidateId: w.candidateId,
  baselineSince: new Date(w.baselineSince),
  candidateSince: new Date(w.candidateSince),
});

export function createPromptRolloutActivities({ sql }: PromptRolloutActivityDeps) {
  return {
    async openPromptRollout(request: OpenRolloutRequest): Promise<void> {
      await openPromptRollout(sql, request);
    },

    async setPromptRolloutStage(
      input: StageChange & { rolloutId: string },
    ): Promise<{ stageStartedAt: string }> {
      const { rolloutId, ...change } = input;
      const { stageStartedAt } = await setPromptRolloutStage(sql, rolloutId, change);
      appMetrics.rolloutStage(change.percent, change.paused);
      return { stageStartedAt: stageStartedAt.toISOString() };
    },

    /** The per-arm figures so far: polled while a stage bakes, for "enough samples" and the status query. */
    async measurePromptRollout(window: RolloutWindow): Promise<RolloutMetrics> {
      return measureRollout(sql, windowOf(window));
    },

    /** Compare the arms over the stage window, decide every gate, record the evidence in the rollout row. */
    async evaluatePromptRolloutStage(input: EvaluateStageInput): Promise<StageEvidence> {
      const metrics = await measureRollout(sql, windowOf(input));
      const verdict = evaluateGates(input.gates, metrics);
      const evidence: StageEvidence = {
        seq: input.seq,
        stage: input.stage,
        percent: input.percent,
        ...verdict,
        metrics,
      };
      await recordRolloutEvidence(sql, input.rolloutId, evidence);
      appMetrics.rolloutGate(verdict.passed);
      Context.current().log.info('prompt rollout gates evaluated', {
        rolloutId: input.rolloutId,
        percent: input.percent,
        passed: verdict.passed,
      });
      return evidence;
    },

    /** Close the rollout: the candidate becomes active, or traffic returns to the baseline. One transaction. */
    async finishPromptRollout(input: FinishRolloutInput): Promise<Activation> {
      const activation = await activatePromptVersion(sql, input.promptId, {
        actor: input.actor,
        tenantId: input.tenantId,
        // Runs started before prompts were per tenant were global.
        scopeTenantId: input.scopeTenantId ?? null,
        reason: input.reason,
        rolloutId: input.rolloutId,
        rolloutStatus: input.outcome,
      });
      appMetrics.rolloutFinished(input.outcome);
      return activation;
    },
  };
}

export type PromptRolloutActivities = ReturnType<typeof createPromptRolloutActivities>;
