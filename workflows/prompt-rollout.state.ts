/**
 * The state of one prompt rollout and everything that changes it, in the style of
 * temporalio/samples-typescript message-passing/safe-message-handlers: message handlers validate and
 * queue requests; the main loop (run) applies them in order, so the database is written by one coroutine
 * and never by two interleaved ones. Updates return once their request is applied.
 *
 * For each stage: set the traffic; bake until the bake time passes or both arms have enough samples
 * (polling the metrics every `pollSeconds`); evaluate the gates in an activity that records the
 * evidence; roll back automatically on a failed gate, or move on. Passing the last stage activates the
 * candidate atomically.
 */
import {
  ApplicationFailure,
  condition,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PromptRolloutActivities } from '../activities/prompt-rollout-activities.js';
import { ErrorType } from '../core/errors.js';
import { describeArm, enoughSamples, type StageEvidence } from '../core/rollout-gates.js';
import {
  type CarriedState,
  type PromptRolloutInput,
  type PromptRolloutStatus,
  promptRolloutActivityOptions,
  type RolloutStatusName,
  type Steering,
} from './prompt-rollout.contract.js';
import { RolloutStage, searchAttribute } from './search-attributes.js';

const db = proxyActivities<PromptRolloutActivities>(promptRolloutActivityOptions);

type Request =
  | { kind: 'pause' | 'resume'; by: Steering }
  | { kind: 'promote'; by: Steering }
  | { kind: 'setStage'; by: Steering; stage: number }
  | { kind: 'abort'; by: Steering; reason: string };

type Outcome = { ok: PromptRolloutStatus } | { error: ApplicationFailure };

const FINISHED: RolloutStatusName[] = ['completed', 'rolled_back', 'aborted'];
/** Evidence kept in workflow state (the row keeps all of it). */
const EVIDENCE_KEPT = 50;

const invalid = (message: string) =>
  ApplicationFailure.create({ type: ErrorType.InvalidTransition, message, nonRetryable: true });

export class PromptRollout {
  readonly s: CarriedState;
  /** Requests in arrival order; `awaited` when an update handler waits for the outcome. */
  private readonly queue: { seq: number; request: Request; awaited: boolean }[] = [];
  private readonly outcomes = new Map<number, Outcome>();
  private nextSeq = 0;
  private readonly last: number;
  private readonly system: Steering;

  constructor(private readonly input: PromptRolloutInput) {
    this.last = input.stages.length - 1;
    this.system = { actor: `workflow:${workflowInfo().workflowId}`, tenantId: input.tenantId };
    this.s = input.carried ?? {
      opened: false,
      status: 'running',
      stage: 0,
      entered: false,
      percent: 0,
      stageStartedAt: null,
      stageStartedMs: null,
      rolloutStartedAt: null,
      metrics: null,
      evidence: [],
      evaluations: 0,
      reason: null,
    };
  }

  get finished(): boolean {
    return FINISHED.includes(this.s.status);
  }

  status(): PromptRolloutStatus {
    const { input, s } = this;
    return {
      rolloutId: input.rolloutId,
      scope: (input.scopeTenantId ?? null) === null ? 'global' : 'tenant',
      toolName: input.toolName,
      provider: input.provider,
      baseline: input.baseline,
      candidate: input.candidate,
      status: s.status,
      stages: input.stages,
      stage: s.stage,
      percent: s.percent,
      startedBy: input.actor,
      stageStartedAt: s.stageStartedAt,
      bakeEndsAt:
        s.stageStartedMs === null || this.finished
          ? null
          : new Date(s.stageStartedMs + input.bakeSeconds * 1000).toISOString(),
      metrics: s.metrics,
      evidence: s.evidence,
      reason: s.reason,
    };
  }

  // -- Message handlers: validate, queue, and (for updates) wait until the main loop applied it.

  /** What the stage will be once the queued requests are applied: validators judge against that. */
  private plannedStage(): number {
    let stage = this.s.stage;
    for (const { request } of this.queue) {
      if (request.kind === 'promote') stage = this.last;
      if (request.kind === 'setStage') stage = request.stage;
    }
    return stage;
  }

  private validateSteering(by: Steering): void {
    if (!by?.actor || !by.tenantId) throw invalid('say who is steering (actor and tenantId)');
    if (this.finished) throw invalid(`the rollout is already ${this.s.status.replace('_', ' ')}`);
    if (this.queue.some((q) => q.request.kind === 'abort')) throw invalid('the rollout is being aborted');
  }

  validatePromote(by: Steering): void {
    this.validateSteering(by);
    if (this.plannedStage() === this.last) {
      throw invalid(
        'already at the last stage (100%): the candidate becomes active when its gates pass; abort to stop it',
      );
    }
  }

  validateSetStage(request: Steering & { percent: number }): void {
    this.validateSteering(request);
    const stage = this.input.stages.indexOf(request.percent);
    if (stage < 0) {
      throw invalid(
        `${request.percent}% is not a stage of this rollout; its stages are ${this.input.stages.map((p) => `${p}%`).join(', ')}`,
      );
    }
    if (stage === this.plannedStage()) throw invalid(`the rollout is already at ${request.percent}%`);
  }

  validateAbort(request: Steering & { reason: string }): void {
    this.validateSteering(request);
    const reason = request.reason?.trim() ?? '';
    if (reason.length === 0 || reason.length > 500) throw invalid('give a reason (1 to 500 characters)');
  }

  /** Signals queue and return; nobody waits for them. */
  signal(request: Request): void {
    this.queue.push({ seq: this.nextSeq++, request, awaited: false });
  }

  async update(request: Request): Promise<PromptRolloutStatus> {
    const seq = this.nextSeq++;
    this.queue.push({ seq, request, awaited: true });
    await condition(() => this.outcomes.has(seq));
    const outcome = this.outcomes.get(seq)!;
    this.outcomes.delete(seq);
    if ('error' in outcome) throw outcome.error;
    return outcome.ok;
  }

  // -- Main loop.

  async run(): Promise<'done' | 'continueAsNew'> {
    const { input, s } = this;
    if (!s.opened) {
      await db.openPromptRollout({
        id: input.rolloutId,
        toolName: input.toolName,
        provider: input.provider,
        baselineId: input.baseline.id,
        candidateId: input.candidate.id,
        stages: input.stages,
        bakeSeconds: input.bakeSeconds,
        gates: input.gates,
        workflowId: workflowInfo().workflowId,
        actor: input.actor,
        tenantId: input.tenantId,
        scopeTenantId: input.scopeTenantId ?? null,
      });
      s.opened = true;
    }
    for (;;) {
      await this.applyRequests();
      if (this.finished) return 'done';
      if (!s.entered) {
        await this.enterStage(this.system, 'prompt_rollout.stage');
        continue;
      }
      const next = await this.bake();
      if (next !== 'evaluate') {
        if (next === 'continueAsNew') return next;
        continue;
      }
      const evidence = await this.evaluate();
      if (!evidence.passed) {
        await this.finish('rolled_back', `${evidence.percent}% stage: ${evidence.reason}`, this.system);
        return 'done';
      }
      if (s.stage === this.last) {
        await this.finish(
          'completed',
          `every stage passed its gates (${s.evidence.length} evaluation${s.evidence.length === 1 ? '' : 's'})`,
          this.system,
        );
        return 'done';
      }
      s.stage++;
      s.entered = false;
    }
  }

  private async applyRequests(): Promise<void> {
    while (this.queue.length > 0) {
      const { seq, request, awaited } = this.queue.shift()!;
      const settle = (outcome: Outcome) => awaited && this.outcomes.set(seq, outcome);
      try {
        await this.apply(request);
        settle({ ok: this.status() });
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === ErrorType.InvalidTransition) {
          settle({ error: err });
          continue;
        }
        // The run is failing (it rolls back on the way out): the caller learns why, and is not left waiting.
        settle({
          error: ApplicationFailure.create({
            type: ErrorType.RolloutFailed,
            message: `the rollout failed while applying ${request.kind}: ${err instanceof Error ? err.message : String(err)}`,
            nonRetryable: true,
          }),
        });
        throw err;
      }
    }
  }

  hasQueued(): boolean {
    return this.queue.length > 0;
  }

  private async apply(request: Request): Promise<void> {
    const { s } = this;
    if (this.finished) throw invalid(`the rollout is already ${s.status.replace('_', ' ')}`);
    switch (request.kind) {
      case 'pause':
      case 'resume': {
        const paused = request.kind === 'pause';
        if ((s.status === 'paused') === paused) return;
        s.status = paused ? 'paused' : 'running';
        if (s.entered) await this.writeStage(request.by, `prompt_rollout.${paused ? 'paused' : 'resumed'}`);
        this.show();
        return;
      }
      case 'promote':
        s.stage = this.last;
        await this.enterStage(request.by, 'prompt_rollout.promoted');
        return;
      case 'setStage':
        s.stage = request.stage;
        await this.enterStage(request.by, 'prompt_rollout.stage_set');
        return;
      case 'abort':
        await this.finish('aborted', `aborted by ${request.by.actor}: ${request.reason.trim()}`, request.by);
        return;
    }
  }

  private async writeStage(by: Steering, action: string): Promise<string> {
    const { s } = this;
    const percent = this.input.stages[s.stage]!;
    const { stageStartedAt } = await db.setPromptRolloutStage.executeWithOptions(
      {
        summary: `${action.replace('prompt_rollout.', '')}: ${percent}%${s.status === 'paused' ? ' (paused)' : ''}`,
      },
      [
        {
          rolloutId: this.input.rolloutId,
          stage: s.stage,
          percent,
          paused: s.status === 'paused',
          action,
          actor: by.actor,
          tenantId: by.tenantId,
        },
      ],
    );
    s.percent = percent;
    return stageStartedAt;
  }

  private async enterStage(by: Steering, action: string): Promise<void> {
    const { s } = this;
    const startedAt = await this.writeStage(by, action);
    if (startedAt !== s.stageStartedAt) {
      s.stageStartedAt = startedAt;
      s.stageStartedMs = Date.now();
      s.metrics = null;
    }
    s.rolloutStartedAt ??= startedAt;
    s.entered = true;
    this.show();
  }

  /** Wait out the stage: until the bake time passes or enough samples arrived (never while paused). */
  private async bake(): Promise<'evaluate' | 'request' | 'continueAsNew'> {
    const { input, s } = this;
    const bakeMs = input.bakeSeconds * 1000;
    const pollMs = input.pollSeconds * 1000;
    for (;;) {
      if (this.queue.length > 0) return 'request';
      const elapsed = Date.now() - s.stageStartedMs!;
      if (s.status !== 'paused') {
        if (elapsed >= bakeMs) return 'evaluate';
        if (elapsed >= input.minBakeSeconds * 1000 && s.metrics && enoughSamples(input.gates, s.metrics)) {
          return 'evaluate';
        }
      }
      if (this.shouldContinueAsNew()) return 'continueAsNew';
      const wait = s.status === 'paused' ? pollMs : Math.max(1, Math.min(pollMs, bakeMs - elapsed));
      if (await condition(() => this.queue.length > 0, wait)) return 'request';
      s.metrics = await db.measurePromptRollout(this.window());
      this.show();
    }
  }

  private window() {
    const { input, s } = this;
    const stageStart = s.stageStartedAt!;
    // At 100% the baseline serves nothing in the stage window: compare with its calls over the whole
    // rollout, and at least one bake time before this stage (a promoted or single-stage rollout).
    const earliest = Math.min(
      Date.parse(stageStart) - input.bakeSeconds * 1000,
      Date.parse(s.rolloutStartedAt!),
    );
    return {
      scopeTenantId: input.scopeTenantId ?? null,
      baselineId: input.baseline.id,
      candidateId: input.candidate.id,
      candidateSince: stageStart,
      baselineSince: input.stages[s.stage]! < 100 ? stageStart : new Date(earliest).toISOString(),
    };
  }

  private async evaluate(): Promise<StageEvidence> {
    const { input, s } = this;
    const percent = input.stages[s.stage]!;
    const evidence = await db.evaluatePromptRolloutStage.executeWithOptions(
      { summary: `Evaluate gates at ${percent}%` },
      [
        {
          ...this.window(),
          rolloutId: input.rolloutId,
          seq: s.evaluations,
          stage: s.stage,
          percent,
          gates: input.gates,
        },
      ],
    );
    s.evaluations++;
    s.evidence = [...s.evidence, evidence].slice(-EVIDENCE_KEPT);
    s.metrics = evidence.metrics;
    this.show();
    return evidence;
  }

  async finish(outcome: 'completed' | 'rolled_back' | 'aborted', reason: string, by: Steering) {
    const { input, s } = this;
    await db.finishPromptRollout.executeWithOptions(
      {
        summary:
          outcome === 'completed'
            ? `Activate v${input.candidate.version}`
            : `Roll back to v${input.baseline.version}`,
      },
      [
        {
          rolloutId: input.rolloutId,
          promptId: outcome === 'completed' ? input.candidate.id : input.baseline.id,
          outcome,
          reason,
          actor: by.actor,
          tenantId: by.tenantId,
          scopeTenantId: input.scopeTenantId ?? null,
        },
      ],
    );
    s.status = outcome;
    s.percent = outcome === 'completed' ? 100 : 0;
    s.reason = reason;
    this.show();
  }

  /** Requests that arrived too late to apply (the rollout finished first) fail with the reason. */
  rejectLeftovers(): void {
    for (const { seq, awaited } of this.queue.splice(0)) {
      if (awaited) {
        this.outcomes.set(seq, {
          error: invalid(`the rollout is already ${this.s.status.replace('_', ' ')}`),
        });
      }
    }
  }

  private shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= (this.input.maxHistoryEvents ?? 10_000);
  }

  // -- What the Temporal UI shows: the RolloutStage search attribute and the current details.

  private show(): void {
    const { input, s } = this;
    const where = this.finished ? s.status : `${s.status === 'paused' ? 'paused ' : ''}${s.percent}%`;
    upsertSearchAttributes([searchAttribute(RolloutStage, where)]);

    const lines = [
      `**${input.toolName}/${input.provider}**: v${input.candidate.version} over v${input.baseline.version} · ` +
        `**${this.finished ? s.status.replace('_', ' ') : `${s.percent}%`}** ` +
        `(stage ${s.stage + 1} of ${input.stages.length}: ${input.stages.map((p) => `${p}%`).join(' → ')})` +
        `${s.status === 'paused' ? ' · **paused**' : ''}`,
    ];
    if (s.reason) lines.push(`Reason: ${s.reason}`);
    if (s.metrics && !this.finished) {
      lines.push(
        `Candidate v${input.candidate.version}: ${describeArm(s.metrics.candidate)}`,
        `Baseline v${input.baseline.version}: ${describeArm(s.metrics.baseline)}`,
      );
    }
    const latest = s.evidence.at(-1);
    if (latest) {
      lines.push(
        `Gates at ${latest.percent}%: **${latest.passed ? 'passed' : 'failed'}**`,
        ...latest.checks.map((c) => `- ${c.passed ? '✓' : '✗'} ${c.gate}: ${c.detail}`),
      );
    }
    setCurrentDetails(lines.join('\n\n'));
  }
}
