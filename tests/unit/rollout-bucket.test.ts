/**
 * Rollout bucketing: deterministic, uniform over 0–99, monotone in the percent, and independent between
 * rollouts. Keys are UUIDs like the email ids the analysis path buckets, derived from a counter so the
 * test is the same on every run.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUCKETS, rolloutBucket, servesCandidate } from '../../core/rollout-bucket.js';

function uuidFor(i: number): string {
  const h = createHash('md5').update(`email-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const KEYS = Array.from({ length: 10_000 }, (_, i) => uuidFor(i));
const SALTS = ['0b7f6a36-5c1e-4c0e-9d1b-3f0c2a9e4d11', 'f3c1e2d4-8a7b-4c6d-9e0f-1a2b3c4d5e6f', 'rollout-x'];

describe('rolloutBucket', () => {
  it('is deterministic and in 0–99', () => {
    for (const key of KEYS.slice(0, 500)) {
      const b = rolloutBucket(key, SALTS[0]!);
      expect(b).toBe(rolloutBucket(key, SALTS[0]!));
      expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
    }
  });

  it('puts 10,000 keys at 25% within ±2% of 2,500, for every salt', () => {
    for (const salt of SALTS) {
      const share = KEYS.filter((k) => servesCandidate(k, salt, 25)).length / KEYS.length;
      expect(Math.abs(share - 0.25)).toBeLessThanOrEqual(0.02);
    }
  });

  it('fills all 100 buckets evenly (chi-square below the 0.1% critical value)', () => {
    const counts = new Array<number>(BUCKETS).fill(0);
    for (const key of KEYS) counts[rolloutBucket(key, SALTS[1]!)]!++;
    const expected = KEYS.length / BUCKETS;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 99 degrees of freedom: P(chi2 > 148.2) = 0.001.
    expect(chi2).toBeLessThan(148.2);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('is monotone: raising the percent only adds keys, so nobody flips back to the baseline', () => {
    const at = (p: number) => new Set(KEYS.filter((k) => servesCandidate(k, SALTS[0]!, p)));
    const stages = [0, 5, 25, 50, 100].map(at);
    for (let i = 1; i < stages.length; i++) {
      for (const key of stages[i - 1]!) expect(stages[i]!.has(key)).toBe(true);
    }
    expect(stages[0]!.size).toBe(0);
    expect(stages[4]!.size).toBe(KEYS.length);
  });

  it('gives each rollout its own slice: two salts at 25% overlap on about a quarter of a quarter', () => {
    const a = KEYS.filter((k) => servesCandidate(k, SALTS[0]!, 25));
    const both = a.filter((k) => servesCandidate(k, SALTS[1]!, 25)).length / KEYS.length;
    expect(Math.abs(both - 0.0625)).toBeLessThan(0.015);
  });
});
