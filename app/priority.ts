/**
 * Which runs go first (Temporal task-queue priority and fairness, issue 15):
 * - the fairness key is the tenant: each tenant gets its share of the workers' dispatch, in proportion
 *   to its weight (public.tenant_fairness), so one tenant's 100,000-message import cannot starve another
 *   tenant's single email;
 * - the priority key puts interactive calls (a caller waits: ingest_email, analyze_email, upload_file)
 *   above bulk work (ingest_mailbox, IMAP mailbox syncs, prompt rollouts) within that.
 * Set on the workflow start; its activities and child workflows inherit it. Fairness needs the cluster's
 * `matching.enableFairness` (the dev server this project starts has it; README: operators).
 */
import type { Priority } from '@temporalio/common';
import type { Sql } from '../supabase/db.js';
import { tenantFairnessWeight } from '../supabase/fairness.js';

export type Lane = 'interactive' | 'bulk';

/** Temporal's keys run 1 (first) to 5; 3 is the default. */
export const PRIORITY_KEYS: Record<Lane, number> = { interactive: 2, bulk: 4 };

/** An operator's change of a weight reaches a running process within this. */
const WEIGHT_TTL_MS = 30_000;
const weights = new Map<string, { weight: number; until: number }>();

export async function priorityFor(sql: Sql, tenantId: string, lane: Lane): Promise<Priority> {
  const now = Date.now();
  let cached = weights.get(tenantId);
  if (!cached || cached.until < now) {
    cached = { weight: await tenantFairnessWeight(sql, tenantId), until: now + WEIGHT_TTL_MS };
    weights.set(tenantId, cached);
  }
  return { priorityKey: PRIORITY_KEYS[lane], fairnessKey: tenantId, fairnessWeight: cached.weight };
}
