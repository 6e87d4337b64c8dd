/**
 * Helpers for prompt-rollout tests: start a rollout exactly as start_prompt_rollout does (the app
 * layer's startPromptRollout, for an admin the test names), send analysis
 * traffic while it runs (recording which arm and percent served each email), and read the rows and
 * audit entries it wrote.
 */

import type { WorkflowHandle } from '@temporalio/client';
import { startAnalysisRun } from '../../app/analysis.js';
import { type LaunchRequest, type ScopedSteering, startPromptRollout } from '../../app/prompts.js';
import { createLogger } from '../../core/logger.js';
import { planAnalysis } from '../../supabase/analysis-plan.js';
import type { Sql } from '../../supabase/db.js';
import { temporalAccess } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { type PromptRolloutStatus, statusQuery } from '../../workflows/prompt-rollout.contract.js';
import { seedEmail } from './analysis.js';

/**
 * The operator's admin changing the global default set (a test stack's own organization is its operator):
 * the default tenant has no prompt of its own, so its traffic is the global set's.
 */
export function admin(stack: Stack, actor = 'test-admin'): ScopedSteering {
  return { actor, tenantId: stack.defaultTenant.id, scopeTenantId: null };
}

export function launch(stack: Stack, request: LaunchRequest, taskQueue = stack.config.temporal.taskQueue) {
  const temporal = temporalAccess(stack);
  return startPromptRollout(
    {
      temporal: { ...temporal, queues: { ...temporal.queues, main: taskQueue } },
      sql: stack.sql,
      ai: stack.config.ai,
      rollouts: stack.config.rollouts,
      log: createLogger('warn'),
    },
    admin(stack),
    request,
  );
}

/** Poll the status query until `done` holds (the workflow applies things between workflow tasks). */
export async function statusWhen(
  handle: Pick<WorkflowHandle, 'query'>,
  done: (s: PromptRolloutStatus) => boolean,
  timeoutMs = 60_000,
): Promise<PromptRolloutStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: PromptRolloutStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery).catch(() => last);
    if (last && done(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`rollout status never got there; last: ${JSON.stringify(last)}`);
}

export interface Served {
  emailId: string;
  arm: 'baseline' | 'candidate';
  promptVersionId: string;
  version: number;
  /** The rollout that decided, and its percent at that moment (absent when none was open). */
  rollout?: { id: string; percent: number };
  workflowId: string;
}

/**
 * Analysis traffic: store an email and start its analysis, over and over, from two loops, until
 * stopped. Each email is planned exactly as the tools plan it, so the arm is the production decision.
 */
function startTraffic(stack: Stack, provider: string) {
  const served: Served[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const emailId = await seedEmail(stack.sql, stack.defaultTenant.id);
      const plan = await planAnalysis(stack.sql, stack.config.ai, {
        tenantId: stack.defaultTenant.id,
        emailId,
        provider,
        force: false,
      });
      await startAnalysisRun(temporalAccess(stack), plan);
      served.push({
        emailId,
        arm: plan.input.arm,
        promptVersionId: plan.input.promptVersionId,
        version: plan.input.promptVersion,
        rollout: plan.rollout,
        workflowId: plan.workflowId,
      });
      await new Promise((r) => setTimeout(r, 40));
    }
  };
  const loops = [loop(), loop()];
  return {
    served,
    async stop(): Promise<Served[]> {
      running = false;
      await Promise.all(loops);
      return served;
    },
  };
}

/** Send traffic while `fn` runs; then stop it and wait for its analyses to close. */
export async function withTraffic<T>(
  stack: Stack,
  provider: string,
  fn: () => Promise<T>,
): Promise<{ result: T; served: Served[] }> {
  const traffic = startTraffic(stack, provider);
  try {
    return { result: await fn(), served: traffic.served };
  } finally {
    await drain(stack, await traffic.stop());
  }
}

/** Wait until every analysis workflow the traffic started has closed (whatever its outcome). */
export async function drain(stack: Stack, served: Served[]): Promise<void> {
  await Promise.all(
    served.map((s) =>
      stack.client.workflow
        .getHandle(s.workflowId)
        .result()
        .catch(() => undefined),
    ),
  );
}

export async function rolloutRow(sql: Sql, rolloutId: string) {
  const [row] = await sql<
    {
      status: string;
      traffic_percent: number;
      stage: number;
      reason: string | null;
      evidence: { seq: number; percent: number; passed: boolean; reason: string | null }[];
      finished_at: Date | null;
    }[]
  >`
    select status, traffic_percent, stage, reason, evidence, finished_at
    from public.prompt_rollouts where id = ${rolloutId}`;
  return row!;
}

export async function auditActions(sql: Sql, subjectId: string) {
  return sql<{ action: string; actor: string; tenant_id: string; detail: Record<string, unknown> }[]>`
    select action, actor, tenant_id, detail from public.audit_log where subject_id = ${subjectId} order by id`;
}

/** The active version of the global default set. */
export async function activeVersion(sql: Sql, toolName: string, provider: string): Promise<number> {
  const [row] = await sql<{ version: number }[]>`
    select version from public.system_prompts
    where tenant_id is null and tool_name = ${toolName} and provider = ${provider} and is_active`;
  return row!.version;
}

/** Binomial tolerance: |k - np| within z standard deviations (plus one for discreteness). */
export function withinBinomial(k: number, n: number, p: number, z = 4): boolean {
  return Math.abs(k - n * p) <= z * Math.sqrt(n * p * (1 - p)) + 1;
}
