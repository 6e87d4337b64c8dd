/**
 * Prompt-rollout plans and gates: pure code, shared by the workflow (imported into its bundle, so no
 * Node built-ins here), the gate activity and the MCP tools.
 *
 * A stage passes when every gate passes, comparing the candidate arm with the baseline arm over the
 * stage's window of `prompt_performance` rows (one row per provider call):
 * - minSamples: each arm made at least `minSamplesPerArm` calls (never promote without evidence);
 * - errorRateIncrease: candidate error rate minus baseline error rate, in absolute terms;
 * - validOutputRate: the share of the candidate's answers that validated against the schema;
 * - p95LatencyRatio: candidate p95 latency over baseline p95 latency, each raised to `latencyFloorMs`
 *   first, so jitter on millisecond latencies (the heuristic analyser) cannot fail a stage.
 */

export interface RolloutGates {
  /** Calls each arm needs in the window; 0 means the stage is decided on bake time alone. */
  minSamplesPerArm: number;
  /** Largest allowed increase of the error rate over the baseline's (0.02 = two percentage points). */
  maxErrorRateIncrease: number;
  /** Largest allowed candidate p95 / baseline p95 latency. */
  maxP95LatencyRatio: number;
  /** Smallest allowed share of valid answers (schema-valid analyses among answers received). */
  minValidOutputRate: number;
  /** Latencies below this count as this in the latency ratio. */
  latencyFloorMs: number;
}

export const DEFAULT_STAGES: readonly number[] = [5, 25, 50, 100];

export const DEFAULT_GATES: RolloutGates = {
  minSamplesPerArm: 50,
  maxErrorRateIncrease: 0.02,
  maxP95LatencyRatio: 1.5,
  minValidOutputRate: 0.95,
  latencyFloorMs: 50,
};

/** One arm's calls in a window. */
export interface ArmMetrics {
  calls: number;
  /** Calls that failed, for any reason (an invalid answer included). */
  errors: number;
  /** Calls that got an answer from the model, valid or not. */
  answered: number;
  /** Answers that validated. */
  valid: number;
  p95LatencyMs: number | null;
}

export interface RolloutMetrics {
  baseline: ArmMetrics;
  candidate: ArmMetrics;
  /** Start of each arm's window (ISO): the stage start, or the rollout start for a 100% stage's baseline. */
  candidateSince: string;
  baselineSince: string;
  measuredAt: string;
}

export type GateName = 'minSamples' | 'errorRateIncrease' | 'validOutputRate' | 'p95LatencyRatio';

export interface GateCheck {
  gate: GateName;
  passed: boolean;
  /** The measured figure the limit applies to; null when there was nothing to measure. */
  observed: number | null;
  limit: number;
  /** The numbers behind the decision, in words. */
  detail: string;
}

export interface GateVerdict {
  passed: boolean;
  checks: GateCheck[];
  /** The failed gates and their numbers, for the rollout's reason and the audit log; null when passed. */
  reason: string | null;
}

export const EMPTY_ARM: ArmMetrics = { calls: 0, errors: 0, answered: 0, valid: 0, p95LatencyMs: null };

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const rate = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

export function enoughSamples(
  gates: RolloutGates,
  m: Pick<RolloutMetrics, 'baseline' | 'candidate'>,
): boolean {
  return (
    gates.minSamplesPerArm > 0 &&
    m.candidate.calls >= gates.minSamplesPerArm &&
    m.baseline.calls >= gates.minSamplesPerArm
  );
}

export function evaluateGates(
  gates: RolloutGates,
  m: Pick<RolloutMetrics, 'baseline' | 'candidate'>,
): GateVerdict {
  const { baseline: b, candidate: c } = m;
  const checks: GateCheck[] = [];

  const fewest = Math.min(b.calls, c.calls);
  checks.push({
    gate: 'minSamples',
    passed: fewest >= gates.minSamplesPerArm,
    observed: fewest,
    limit: gates.minSamplesPerArm,
    detail: `candidate ${c.calls} calls, baseline ${b.calls} calls (need ${gates.minSamplesPerArm} each)`,
  });

  if (c.calls === 0) {
    checks.push({
      gate: 'errorRateIncrease',
      passed: true,
      observed: null,
      limit: gates.maxErrorRateIncrease,
      detail: 'no candidate calls to compare',
    });
  } else {
    const increase = rate(c.errors, c.calls) - rate(b.errors, b.calls);
    checks.push({
      gate: 'errorRateIncrease',
      passed: increase <= gates.maxErrorRateIncrease + 1e-12,
      observed: increase,
      limit: gates.maxErrorRateIncrease,
      detail:
        `candidate ${pct(rate(c.errors, c.calls))} errors (${c.errors}/${c.calls}) vs baseline ` +
        `${pct(rate(b.errors, b.calls))} (${b.errors}/${b.calls}): ${increase >= 0 ? '+' : ''}` +
        `${(increase * 100).toFixed(1)} points, max +${(gates.maxErrorRateIncrease * 100).toFixed(1)}`,
    });
  }

  if (c.answered === 0) {
    checks.push({
      gate: 'validOutputRate',
      passed: true,
      observed: null,
      limit: gates.minValidOutputRate,
      detail: 'no candidate answers to validate',
    });
  } else {
    const valid = rate(c.valid, c.answered);
    checks.push({
      gate: 'validOutputRate',
      passed: valid + 1e-12 >= gates.minValidOutputRate,
      observed: valid,
      limit: gates.minValidOutputRate,
      detail: `candidate ${pct(valid)} valid (${c.valid}/${c.answered} answers), min ${pct(gates.minValidOutputRate)}`,
    });
  }

  if (c.p95LatencyMs === null || b.p95LatencyMs === null) {
    checks.push({
      gate: 'p95LatencyRatio',
      passed: true,
      observed: null,
      limit: gates.maxP95LatencyRatio,
      detail: `no ${c.p95LatencyMs === null ? 'candidate' : 'baseline'} latency to compare`,
    });
  } else {
    const floor = gates.latencyFloorMs;
    const ratio = Math.max(c.p95LatencyMs, floor) / Math.max(b.p95LatencyMs, floor);
    checks.push({
      gate: 'p95LatencyRatio',
      passed: ratio <= gates.maxP95LatencyRatio + 1e-12,
      observed: ratio,
      limit: gates.maxP95LatencyRatio,
      detail:
        `candidate p95 ${Math.round(c.p95LatencyMs)} ms vs baseline p95 ${Math.round(b.p95LatencyMs)} ms: ` +
        `×${ratio.toFixed(2)}, max ×${gates.maxP95LatencyRatio.toFixed(2)}`,
    });
  }

  const failed = checks.filter((check) => !check.passed);
  return {
    passed: failed.length === 0,
    checks,
    reason: failed.length === 0 ? null : failed.map((f) => `gate ${f.gate} failed: ${f.detail}`).join('; '),
  };
}

/** Why a stage plan cannot run, or null: 1–10 stages, whole percents rising strictly, ending at 100. */
export function stagesProblem(stages: readonly number[]): string | null {
  if (stages.length === 0 || stages.length > 10) return 'give between 1 and 10 stages';
  for (const [i, s] of stages.entries()) {
    if (!Number.isInteger(s) || s < 1 || s > 100) return `stage ${s} is not a whole percent from 1 to 100`;
    if (i > 0 && s <= stages[i - 1]!) return `stages must rise: ${stages[i - 1]}% is followed by ${s}%`;
  }
  if (stages.at(-1) !== 100) return 'the last stage must be 100% (passing it makes the candidate active)';
  return null;
}

/** One arm's figures in a line, for current details and reports. */
export function describeArm(a: ArmMetrics): string {
  if (a.calls === 0) return 'no calls yet';
  const p95 = a.p95LatencyMs === null ? 'n/a' : `${Math.round(a.p95LatencyMs)} ms`;
  return (
    `${a.calls} calls · ${pct(rate(a.errors, a.calls))} errors · ` +
    `${a.answered === 0 ? 'n/a' : pct(rate(a.valid, a.answered))} valid · p95 ${p95}`
  );
}

/** One gate evaluation as the rollout row and the workflow record it. */
export interface StageEvidence extends GateVerdict {
  /** Evaluations of this rollout so far, from 0: the key that makes recording it idempotent. */
  seq: number;
  stage: number;
  percent: number;
  metrics: RolloutMetrics;
}
