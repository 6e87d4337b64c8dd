/**
 * Prompt rollouts on the real dev server and Postgres, with analysis traffic through the real openai
 * SDK against the LLM stand-in. The stand-in answers by system prompt: a marker in a candidate's content
 * makes its answers invalid or slow, while the baseline stays healthy.
 *
 * Uses `sambanova` (served by the stand-in here), a provider no other test file analyses with, so the
 * versions these rollouts activate are private to this file.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchRequest } from '../../app/prompts.js';
import { metricsRegistry } from '../../core/metrics.js';
import { servesCandidate } from '../../core/rollout-bucket.js';
import { DEFAULT_GATES } from '../../core/rollout-gates.js';
import { planAnalysis } from '../../supabase/analysis-plan.js';
import { openPromptRollout } from '../../supabase/prompt-rollouts.js';
import { activatePromptVersion, createPromptVersion, resolvePromptVersion } from '../../supabase/prompts.js';
import type { Stack } from '../../workers/stack.js';
import {
  abortUpdate,
  pauseSignal,
  promoteUpdate,
  resumeSignal,
  setStageUpdate,
  statusQuery,
} from '../../workflows/prompt-rollout.contract.js';
import { PromptTool, RolloutStage } from '../../workflows/search-attributes.js';
import { decodedHistoryText } from '../support/analysis.js';
import {
  replayOptions,
  runCount,
  spawnWorker,
  startTestStack,
  testEnv,
  uniqueName,
} from '../support/harness.js';
import { type LlmStandIn, reply, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import {
  activeVersion,
  admin,
  auditActions,
  launch,
  rolloutRow,
  type Served,
  statusWhen,
  withinBinomial,
  withTraffic,
} from '../support/rollouts.js';

const PROVIDER = 'sambanova';
const TOOL = 'analyze_email';
const BASE_PROMPT = 'You are an email triage assistant. Answer with one JSON object.';

describe('prompt rollouts', () => {
  let llm: LlmStandIn;
  let env: Record<string, string>;
  let stack: Stack;
  let n = 0;
  /** A candidate with fresh content (versions are deduplicated by content). */
  const content = (marker = '') => `${BASE_PROMPT}\nRevision ${++n} ${uniqueName('r')} ${marker}`;
  /** A rollout of a fresh candidate, its metrics read every second. */
  const rollout = (description: string, over: Partial<LaunchRequest> = {}, taskQueue?: string) =>
    launch(
      stack,
      { tool: TOOL, provider: PROVIDER, content: content(), description, pollSeconds: 1, ...over },
      taskQueue,
    );
  /** Once the first stage's traffic is live. */
  const live = (handle: Pick<WorkflowHandle, 'query'>) =>
    statusWhen(handle, (s) => s.stageStartedAt !== null);

  beforeAll(async () => {
    llm = await startLlmStandIn();
    env = testEnv(
      standInEnv(llm, {
        AI_PROVIDER: PROVIDER,
        AI_MODEL: 'stand-in-1',
        AI_TIMEOUT_SECONDS: '10',
        AI_RATE_LIMIT_PER_SECOND: '200',
        AI_MAX_CONCURRENCY: '32',
        AI_ANALYSIS_ON_INGEST: 'false',
      }),
    );
    stack = await startTestStack(env);
  });
  afterAll(async () => {
    await stack?.shutdown();
    await llm?.close();
  });

  function resetStandIn() {
    llm.reset();
    // A real provider's latency, the same for both arms, so the latency gate compares like with like.
    llm.setDefaultDelay(100);
    llm.whenPrompt('[[invalid]]', reply.malformed);
    llm.whenPrompt('[[slow]]', () => reply.slow(1500));
  }

  it('takes a healthy candidate through 5 → 25 → 50 → 100% and activates it; arms split in proportion', {
    timeout: 180_000,
  }, async () => {
    resetStandIn();
    const baseline = await activeVersion(stack.sql, TOOL, PROVIDER);
    const { handle } = await rollout('Shorter instructions', {
      bakeSeconds: 120,
      gates: { minSamplesPerArm: 15, maxP95LatencyRatio: 3 },
      // Small, so the run continues as new several times and must carry its state.
      maxHistoryEvents: 80,
    });
    const { result, served } = await withTraffic(stack, PROVIDER, () => handle.result());

    expect(result.status).toBe('completed');
    expect(result.percent).toBe(100);
    expect(result.evidence.map((e) => [e.percent, e.passed])).toEqual([
      [5, true],
      [25, true],
      [50, true],
      [100, true],
    ]);
    for (const e of result.evidence) {
      // Each stage ended on samples, not on the 2-minute bake time.
      expect(e.metrics.candidate.calls).toBeGreaterThanOrEqual(15);
      expect(e.metrics.baseline.calls).toBeGreaterThanOrEqual(15);
    }
    expect(await activeVersion(stack.sql, TOOL, PROVIDER)).toBe(result.candidate.version);
    expect(result.baseline.version).toBe(baseline);

    // Every email got the arm its bucket says, for the percent at the moment it was planned...
    const during = served.filter((s): s is Served & { rollout: NonNullable<Served['rollout']> } =>
      Boolean(s.rollout && s.rollout.id === result.rolloutId),
    );
    expect(during.length).toBeGreaterThan(100);
    for (const s of during) {
      const candidate = servesCandidate(s.emailId, result.rolloutId, s.rollout.percent);
      expect(s.arm).toBe(candidate ? 'candidate' : 'baseline');
      expect(s.promptVersionId).toBe(candidate ? result.candidate.id : result.baseline.id);
    }
    // ...and the arms split in proportion to the traffic, within a binomial tolerance for each stage.
    for (const percent of [5, 25, 50]) {
      const atStage = during.filter((s) => s.rollout.percent === percent);
      const candidates = atStage.filter((s) => s.arm === 'candidate').length;
      expect(
        withinBinomial(candidates, atStage.length, percent / 100),
        `${candidates} of ${atStage.length} at ${percent}%`,
      ).toBe(true);
    }
    // The metric rows say the same: each call is recorded under the arm and version that served it.
    const rows = await stack.sql<{ email_id: string; arm: string; prompt_version_id: string }[]>`
      select email_id, arm, prompt_version_id from public.prompt_performance
      where email_id in ${stack.sql(during.map((s) => s.emailId))}`;
    for (const row of rows) {
      const s = during.find((d) => d.emailId === row.email_id)!;
      expect([row.arm, row.prompt_version_id]).toEqual([s.arm, s.promptVersionId]);
    }

    // The row, the history of versions and the audit log agree.
    const row = await rolloutRow(stack.sql, result.rolloutId);
    expect(row).toMatchObject({ status: 'completed', traffic_percent: 100, stage: 3 });
    expect(row.evidence.map((e) => e.percent)).toEqual([5, 25, 50, 100]);
    // The worker runs in this process: its scrape shows the stages, the passed gates and the outcome.
    const scrape = await metricsRegistry.metrics();
    for (const series of [
      'durable_inbox_rollout_stage_changes_total{percent="100",paused="false"}',
      'durable_inbox_rollout_gate_evaluations_total{passed="true"}',
      'durable_inbox_rollouts_finished_total{outcome="completed"}',
    ]) {
      expect(scrape.split('\n').some((l) => l.startsWith(`${series} `) && Number(l.split(' ')[1]) >= 1)).toBe(
        true,
      );
    }
    const actions = (await auditActions(stack.sql, result.rolloutId)).map((a) => a.action);
    expect(actions).toEqual([
      'prompt_rollout.started',
      'prompt_rollout.stage',
      'prompt_rollout.stage',
      'prompt_rollout.stage',
      'prompt_rollout.stage',
      'prompt_rollout.completed',
    ]);
    const history = await stack.sql<{ version: number; event: string }[]>`
      select version, event from public.prompt_versions
      where tool_name = ${TOOL} and provider = ${PROVIDER} and detail ->> 'rolloutId' = ${result.rolloutId}
      order by id`;
    expect(history).toEqual([
      { version: baseline, event: 'deactivated' },
      { version: result.candidate.version, event: 'activated' },
    ]);

    // Temporal: it continued as new and kept its state; the UI finds it; the code replays its history.
    expect(await runCount(stack.client, handle.workflowId)).toBeGreaterThan(1);
    const description = await stack.client.workflow.getHandle(handle.workflowId).describe();
    expect(description.typedSearchAttributes.get(PromptTool)).toBe(TOOL);
    expect(description.typedSearchAttributes.get(RolloutStage)).toBe('completed');
    const first = stack.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    expect(await (await first.describe()).staticSummary()).toBe(
      `Roll out global ${TOOL}/${PROVIDER} v${result.candidate.version} over v${baseline}: 5% → 25% → 50% → 100%`,
    );
    const bundle = replayOptions();
    const firstHistory = await first.fetchHistory();
    const lastHistory = await stack.client.workflow.getHandle(handle.workflowId).fetchHistory();
    await Worker.runReplayHistory(bundle, firstHistory);
    await Worker.runReplayHistory(bundle, lastHistory);
    expect(decodedHistoryText(firstHistory)).toContain('stage: 5%');
    expect(decodedHistoryText(lastHistory)).toContain(`Activate v${result.candidate.version}`);

    // Once active, the candidate serves everyone, as the new baseline.
    const after = await resolvePromptVersion(stack.sql, {
      tenantId: stack.defaultTenant.id,
      toolName: TOOL,
      provider: PROVIDER,
      subjectKey: 'x',
    });
    expect(after).toMatchObject({ version: result.candidate.version, arm: 'baseline' });
    expect(after.rollout).toBeUndefined();
  });

  for (const bad of [
    {
      marker: '[[invalid]]',
      gate: /gate errorRateIncrease failed: candidate 100\.0% errors.*gate validOutputRate failed: candidate 0\.0% valid/,
    },
    {
      marker: '[[slow]]',
      gate: /^20% stage: gate p95LatencyRatio failed: candidate p95 1\d{3} ms vs baseline p95 \d+ ms: ×\d+\.\d\d, max ×1\.50$/,
    },
  ]) {
    it(`rolls back a candidate with ${bad.marker} answers at the first gate; then the baseline serves all`, {
      timeout: 120_000,
    }, async () => {
      resetStandIn();
      const baseline = await activeVersion(stack.sql, TOOL, PROVIDER);
      const { handle } = await rollout(`a candidate with ${bad.marker} answers`, {
        content: content(bad.marker),
        stages: [20, 50, 100],
        bakeSeconds: 120,
        gates: { minSamplesPerArm: 6 },
      });
      const { result, served: during } = await withTraffic(stack, PROVIDER, () => handle.result());

      expect(result).toMatchObject({ status: 'rolled_back', percent: 0, stage: 0 });
      expect(result.evidence).toHaveLength(1);
      expect(result.reason).toMatch(bad.gate);
      const row = await rolloutRow(stack.sql, result.rolloutId);
      expect(row).toMatchObject({ status: 'rolled_back', traffic_percent: 0, reason: result.reason });
      const audit = await auditActions(stack.sql, result.rolloutId);
      expect(audit.at(-1)).toMatchObject({
        action: 'prompt_rollout.rolled_back',
        actor: `workflow:${handle.workflowId}`,
        tenant_id: stack.defaultTenant.id,
      });
      expect(audit.at(-1)!.detail.reason).toBe(result.reason);
      expect(await activeVersion(stack.sql, TOOL, PROVIDER)).toBe(baseline);

      // Afterwards the baseline serves everyone: the emails the candidate had, and new ones.
      const hadCandidate = during.filter((s) => s.arm === 'candidate');
      expect(hadCandidate.length).toBeGreaterThan(0);
      for (const s of hadCandidate) {
        const plan = await planAnalysis(stack.sql, stack.config.ai, {
          tenantId: stack.defaultTenant.id,
          emailId: s.emailId,
          provider: PROVIDER,
          force: false,
        });
        expect([plan.input.arm, plan.input.promptVersion]).toEqual(['baseline', baseline]);
      }
      const { served } = await withTraffic(stack, PROVIDER, () => new Promise((r) => setTimeout(r, 1500)));
      expect(served.length).toBeGreaterThan(5);
      expect(served.every((s) => s.arm === 'baseline' && s.version === baseline && !s.rollout)).toBe(true);
    });
  }

  it('pause holds a stage past its bake time; resume continues', { timeout: 60_000 }, async () => {
    const { handle } = await rollout('pause and resume', {
      stages: [50, 100],
      bakeSeconds: 2,
      gates: { minSamplesPerArm: 0 },
    });
    const started = await live(handle);
    await handle.signal(pauseSignal, admin(stack));
    await statusWhen(handle, (s) => s.status === 'paused');
    // Wait well past the bake time: the stage holds.
    await new Promise((r) => setTimeout(r, 5000));
    const held = await handle.query(statusQuery);
    expect(held).toMatchObject({ status: 'paused', stage: 0, percent: 50, evidence: [] });
    expect(held.stageStartedAt).toBe(started.stageStartedAt);
    expect(Date.parse(held.bakeEndsAt!)).toBeLessThan(Date.now() - 2000);
    expect(await rolloutRow(stack.sql, held.rolloutId)).toMatchObject({
      status: 'paused',
      traffic_percent: 50,
    });
    expect((await handle.describe()).typedSearchAttributes.get(RolloutStage)).toBe('paused 50%');

    const resumedAt = Date.now();
    await handle.signal(resumeSignal, admin(stack));
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.evidence.map((e) => e.percent)).toEqual([50, 100]);
    expect(Date.parse(result.evidence[0]!.metrics.measuredAt)).toBeGreaterThanOrEqual(resumedAt - 1000);
    const actions = (await auditActions(stack.sql, result.rolloutId)).map((a) => [a.action, a.actor]);
    expect(actions).toContainEqual(['prompt_rollout.paused', 'test-admin']);
    expect(actions).toContainEqual(['prompt_rollout.resumed', 'test-admin']);
  });

  it('promote jumps to 100%, which is still gated before the candidate becomes active', {
    timeout: 60_000,
  }, async () => {
    const { handle } = await rollout('promote', {
      bakeSeconds: 3,
      gates: { minSamplesPerArm: 0 },
    });
    await live(handle);
    const promoted = await handle.executeUpdate(promoteUpdate, { args: [admin(stack)] });
    expect(promoted).toMatchObject({ status: 'running', stage: 3, percent: 100 });
    expect(await rolloutRow(stack.sql, promoted.rolloutId)).toMatchObject({ traffic_percent: 100, stage: 3 });
    // Promoting again is refused: it is already at the last stage.
    await expect(handle.executeUpdate(promoteUpdate, { args: [admin(stack)] })).rejects.toThrow(
      WorkflowUpdateFailedError,
    );

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.evidence.map((e) => e.percent)).toEqual([100]);
    expect(await activeVersion(stack.sql, TOOL, PROVIDER)).toBe(result.candidate.version);
    const promotedAudit = (await auditActions(stack.sql, result.rolloutId)).find(
      (a) => a.action === 'prompt_rollout.promoted',
    );
    expect(promotedAudit).toMatchObject({
      actor: 'test-admin',
      detail: { percent: 100, from: { percent: 5 } },
    });
  });

  it('abort rolls back now, with the reason; a finished rollout cannot be steered', {
    timeout: 60_000,
  }, async () => {
    const baseline = await activeVersion(stack.sql, TOOL, PROVIDER);
    const { handle } = await rollout('abort', {
      bakeSeconds: 600,
    });
    await live(handle);
    const aborted = await handle.executeUpdate(abortUpdate, {
      args: [{ ...admin(stack), reason: 'customer complaints about summaries' }],
    });
    expect(aborted).toMatchObject({
      status: 'aborted',
      percent: 0,
      reason: 'aborted by test-admin: customer complaints about summaries',
    });
    expect(await handle.result()).toMatchObject({ status: 'aborted' });
    expect(await rolloutRow(stack.sql, aborted.rolloutId)).toMatchObject({
      status: 'aborted',
      traffic_percent: 0,
      reason: aborted.reason,
    });
    expect(await activeVersion(stack.sql, TOOL, PROVIDER)).toBe(baseline);
    expect((await auditActions(stack.sql, aborted.rolloutId)).at(-1)).toMatchObject({
      action: 'prompt_rollout.aborted',
      actor: 'test-admin',
    });
    await expect(
      handle.executeUpdate(abortUpdate, { args: [{ ...admin(stack), reason: 'again' }] }),
    ).rejects.toThrow();
  });

  it('refuses an invalid setStage in its validator and leaves the state as it was', {
    timeout: 60_000,
  }, async () => {
    const { handle } = await rollout('set stage', {
      bakeSeconds: 600,
    });
    await live(handle);
    const before = await handle.query(statusQuery);
    const refusal = (percent: number) =>
      handle.executeUpdate(setStageUpdate, { args: [{ ...admin(stack), percent }] }).then(
        () => {
          throw new Error(`setStage ${percent} was accepted`);
        },
        (err: unknown) => {
          expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
          return ((err as WorkflowUpdateFailedError).cause as Error).message;
        },
      );
    expect(await refusal(42)).toBe('42% is not a stage of this rollout; its stages are 5%, 25%, 50%, 100%');
    expect(await refusal(5)).toBe('the rollout is already at 5%');
    const after = await handle.query(statusQuery);
    const core = (s: typeof before) => [s.status, s.stage, s.percent, s.stageStartedAt, s.evidence];
    expect(core(after)).toEqual(core(before));
    // A rejected update never reaches the history.
    const history = await handle.fetchHistory();
    expect(JSON.stringify(history)).not.toContain('UpdateAccepted');

    const moved = await handle.executeUpdate(setStageUpdate, { args: [{ ...admin(stack), percent: 50 }] });
    expect(moved).toMatchObject({ stage: 2, percent: 50 });
    expect(moved.stageStartedAt).not.toBe(before.stageStartedAt);
    expect(await rolloutRow(stack.sql, moved.rolloutId)).toMatchObject({ stage: 2, traffic_percent: 50 });
    await handle.executeUpdate(abortUpdate, { args: [{ ...admin(stack), reason: 'test done' }] });
  });

  it('refuses a second rollout of the same tool/provider; another tool rolls out alongside', {
    timeout: 60_000,
  }, async () => {
    const { handle } = await rollout('first', {
      bakeSeconds: 600,
    });
    const first = await live(handle);

    await expect(rollout('second')).rejects.toThrow(
      new RegExp(
        `^a rollout of the global ${TOOL}/${PROVIDER} is already running: candidate v${first.candidate.version} over ` +
          `v${first.baseline.version}, running at 5% \\(stage 1 of 4\\), started by test-admin, since .+\\. ` +
          'Steer it with control_prompt_rollout',
      ),
    );
    // The two walls behind that check: the workflow id, and the one-open-rollout index.
    await expect(
      stack.client.workflow.start('promptRolloutWorkflow', {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId: handle.workflowId,
        args: [],
        workflowIdConflictPolicy: 'FAIL',
      }),
    ).rejects.toThrow(WorkflowExecutionAlreadyStartedError);
    await expect(
      openPromptRollout(stack.sql, {
        id: randomUUID(),
        toolName: TOOL,
        provider: PROVIDER,
        baselineId: first.baseline.id,
        candidateId: first.candidate.id,
        stages: [100],
        bakeSeconds: 1,
        gates: DEFAULT_GATES,
        workflowId: 'elsewhere',
        actor: 'sql',
        tenantId: stack.defaultTenant.id,
        scopeTenantId: null,
      }),
    ).rejects.toMatchObject({ type: 'RolloutRunning' });

    // Another tool's prompt (here a second product prompt for the same provider) rolls out meanwhile.
    const other = uniqueName('draft_reply').replaceAll('-', '_');
    const v1 = await createPromptVersion(stack.sql, {
      ...admin(stack),
      toolName: other,
      provider: PROVIDER,
      content: 'Draft a reply.',
      description: 'first',
    });
    await activatePromptVersion(stack.sql, v1.id, { ...admin(stack), reason: 'first version' });
    const { handle: alongside } = await launch(stack, {
      tool: other,
      provider: PROVIDER,
      content: 'Draft a short, polite reply.',
      description: 'politer',
      stages: [50, 100],
      bakeSeconds: 1,
      pollSeconds: 1,
      gates: { minSamplesPerArm: 0 },
    });
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await alongside.result()).toMatchObject({ status: 'completed', toolName: other });
    expect(await activeVersion(stack.sql, other, PROVIDER)).toBe(2);
    expect((await handle.query(statusQuery)).status).toBe('running');
    await handle.executeUpdate(abortUpdate, { args: [{ ...admin(stack), reason: 'test done' }] });
  });

  it('finishes correctly when the worker running it is killed during a bake', {
    timeout: 180_000,
  }, async () => {
    resetStandIn();
    // The rollout runs on its own queue, served only by worker processes this test kills and replaces;
    // the analysis traffic stays on this process's worker.
    const rolloutQueue = uniqueName('rollout-queue');
    const workerEnv = {
      ...env,
      TEMPORAL_TASK_QUEUE: rolloutQueue,
      TEMPORAL_AI_TASK_QUEUE_PREFIX: `${uniqueName('ai-unused')}-`,
    };
    const workers: ChildProcess[] = [await spawnWorker(workerEnv)];
    try {
      const { handle } = await rollout(
        'survives a crash',
        { stages: [25, 100], bakeSeconds: 120, gates: { minSamplesPerArm: 8, maxP95LatencyRatio: 3 } },
        rolloutQueue,
      );
      const { result } = await withTraffic(stack, PROVIDER, async () => {
        // Mid-bake: the first stage is live and has been measured, but has not got its samples yet.
        const baking = await statusWhen(handle, (s) => s.metrics !== null);
        expect(baking.evidence).toHaveLength(0);
        workers[0]!.kill('SIGKILL');
        await once(workers[0]!, 'exit');
        workers.push(await spawnWorker(workerEnv));
        return handle.result();
      });
      expect(result.status).toBe('completed');
      expect(result.evidence.map((e) => [e.percent, e.passed])).toEqual([
        [25, true],
        [100, true],
      ]);
      expect(await rolloutRow(stack.sql, result.rolloutId)).toMatchObject({
        status: 'completed',
        traffic_percent: 100,
      });
      expect(await activeVersion(stack.sql, TOOL, PROVIDER)).toBe(result.candidate.version);
      // Two worker processes completed its workflow tasks: the dead one's, then its replacement's.
      const history = await handle.fetchHistory();
      const identities = new Set(
        (history.events ?? [])
          .map((e) => e.workflowTaskCompletedEventAttributes?.identity)
          .filter((id): id is string => Boolean(id)),
      );
      expect(identities.size).toBeGreaterThanOrEqual(2);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    }
  });
});
