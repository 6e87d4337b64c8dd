/** Gate decisions from per-arm figures, and the stage-plan rules, as pure functions. */
import { describe, expect, it } from 'vitest';
import {
  type ArmMetrics,
  DEFAULT_GATES,
  enoughSamples,
  evaluateGates,
  type RolloutGates,
  stagesProblem,
} from '../../core/rollout-gates.js';

const gates: RolloutGates = { ...DEFAULT_GATES, minSamplesPerArm: 20 };
const arm = (over: Partial<ArmMetrics> = {}): ArmMetrics => ({
  calls: 100,
  errors: 1,
  answered: 100,
  valid: 99,
  p95LatencyMs: 800,
  ...over,
});
const failed = (baseline: ArmMetrics, candidate: ArmMetrics, g = gates) =>
  evaluateGates(g, { baseline, candidate })
    .checks.filter((c) => !c.passed)
    .map((c) => c.gate);

describe('evaluateGates', () => {
  it('passes a candidate that is as good as the baseline', () => {
    const verdict = evaluateGates(gates, { baseline: arm(), candidate: arm({ p95LatencyMs: 900 }) });
    expect(verdict).toMatchObject({ passed: true, reason: null });
    expect(verdict.checks.map((c) => c.gate)).toEqual([
      'minSamples',
      'errorRateIncrease',
      'validOutputRate',
      'p95LatencyRatio',
    ]);
  });

  it('fails each gate on its own numbers, and says which and why', () => {
    expect(failed(arm(), arm({ calls: 12, answered: 12, valid: 12, errors: 0 }))).toEqual(['minSamples']);
    expect(failed(arm(), arm({ errors: 4, valid: 96 }))).toEqual(['errorRateIncrease']);
    expect(failed(arm(), arm({ errors: 2, valid: 90 }))).toEqual(['validOutputRate']);
    expect(failed(arm(), arm({ p95LatencyMs: 1201 }))).toEqual(['p95LatencyRatio']);

    const verdict = evaluateGates(gates, {
      baseline: arm(),
      candidate: arm({ errors: 100, valid: 0 }),
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.reason).toBe(
      'gate errorRateIncrease failed: candidate 100.0% errors (100/100) vs baseline 1.0% (1/100): +99.0 points, max +2.0; ' +
        'gate validOutputRate failed: candidate 0.0% valid (0/100 answers), min 95.0%',
    );
  });

  it('holds the limits inclusively: exactly at a limit passes', () => {
    expect(failed(arm({ errors: 0 }), arm({ errors: 2, valid: 98 }))).toEqual([]);
    expect(failed(arm(), arm({ p95LatencyMs: 1200 }))).toEqual([]);
    expect(failed(arm(), arm({ valid: 95, errors: 1 }), { ...gates, maxErrorRateIncrease: 1 })).toEqual([]);
  });

  it('counts latencies under the floor as the floor, so millisecond jitter cannot fail a stage', () => {
    expect(failed(arm({ p95LatencyMs: 2 }), arm({ p95LatencyMs: 40 }))).toEqual([]);
    expect(failed(arm({ p95LatencyMs: 2 }), arm({ p95LatencyMs: 80 }))).toEqual(['p95LatencyRatio']);
  });

  it('without candidate data, only the sample gate can decide', () => {
    const none: ArmMetrics = { calls: 0, errors: 0, answered: 0, valid: 0, p95LatencyMs: null };
    expect(failed(arm(), none)).toEqual(['minSamples']);
    expect(failed(none, none, { ...gates, minSamplesPerArm: 0 })).toEqual([]);
  });

  it('ends a bake early only with a sample target and both arms at it', () => {
    expect(enoughSamples(gates, { baseline: arm(), candidate: arm({ calls: 20 }) })).toBe(true);
    expect(enoughSamples(gates, { baseline: arm({ calls: 19 }), candidate: arm() })).toBe(false);
    expect(enoughSamples({ ...gates, minSamplesPerArm: 0 }, { baseline: arm(), candidate: arm() })).toBe(
      false,
    );
  });
});

describe('stagesProblem', () => {
  it('accepts rising whole percents that end at 100', () => {
    expect(stagesProblem([5, 25, 50, 100])).toBeNull();
    expect(stagesProblem([100])).toBeNull();
  });
  it('names what is wrong', () => {
    expect(stagesProblem([])).toMatch(/between 1 and 10/);
    expect(stagesProblem([5, 5, 100])).toBe('stages must rise: 5% is followed by 5%');
    expect(stagesProblem([5, 50])).toMatch(/last stage must be 100%/);
    expect(stagesProblem([0.5, 100])).toMatch(/not a whole percent/);
    expect(stagesProblem([5, 25, 50, 100, 100])).toMatch(/must rise/);
  });
});
