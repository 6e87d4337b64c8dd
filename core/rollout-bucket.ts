/**
 * Which side of a prompt rollout serves a request. The subject key (an email id) is hashed with the
 * rollout's id as salt into one of 100 buckets; buckets below the traffic percent get the candidate.
 *
 * - Deterministic: the same email always lands in the same bucket, so it always gets the same arm, in
 *   every process, without asking Temporal or storing an assignment.
 * - Monotone: raising the percent only adds buckets, so an email served by the candidate at 5% is still
 *   served by it at 25%; nobody flips back and forth between stages.
 * - Salted per rollout: each rollout exposes a different slice of emails first, so the same unlucky
 *   emails are not always the first to meet a new prompt.
 */
import { createHash } from 'node:crypto';

export const BUCKETS = 100;

/** The bucket (0–99) of a subject key under a salt. */
export function rolloutBucket(subjectKey: string, salt: string): number {
  const digest = createHash('sha256').update(`${salt}\u0000${subjectKey}`).digest();
  // 2^32 mod 100 = 96, so the modulo bias is below 1e-7 per bucket: uniform for any practical purpose.
  return digest.readUInt32BE(0) % BUCKETS;
}

/** true when a subject key falls inside the candidate's share of traffic. */
export function servesCandidate(subjectKey: string, salt: string, percent: number): boolean {
  return rolloutBucket(subjectKey, salt) < percent;
}
