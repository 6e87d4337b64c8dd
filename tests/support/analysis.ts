/** Helpers for analysis tests: store fixture emails (real parser, real upsert) and run analyses. */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { startAnalysisRun } from '../../app/analysis.js';
import { parseEmail } from '../../core/email.js';
import { describeFailure } from '../../core/failure.js';
import { type PayloadKey, parseKeyRing } from '../../core/payload-keys.js';
import { planAnalysis } from '../../supabase/analysis-plan.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { decryptPayload, isEncrypted } from '../../temporal/payload-codec.js';
import { temporalAccess } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import type { AnalyzeEmailResult } from '../../workflows/analyze-email.contract.js';
import { fixture, TEST_PAYLOAD_KEYS } from './harness.js';

/** Store a fixture as a new email (a fresh Message-ID each time) and return its id. */
export async function seedEmail(
  sql: Sql,
  tenantId: string,
  name = 'quarterly-report.eml',
  appendToBody = '',
): Promise<string> {
  const raw = `${fixture(name)}${appendToBody}`.replace(
    /^Message-ID: <([^>]+)>/im,
    `Message-ID: <${randomUUID()}.$1>`,
  );
  const parsed = await parseEmail(new TextEncoder().encode(raw), { maxEmailBytes: 1 << 20 });
  return (await upsertEmail(sql, tenantId, parsed)).emailId;
}

export type RunOutcome =
  | { ok: true; result: AnalyzeEmailResult; handle: WorkflowHandle }
  | { ok: false; failure: { type: string; message: string }; handle: WorkflowHandle };

/** Plan and start an analysis exactly as the analyze_email tool does, and wait for it. */
export async function runAnalysis(
  stack: Stack,
  emailId: string,
  opts: { force?: boolean; provider?: string } = {},
): Promise<RunOutcome> {
  const handle = await startAnalysis(stack, emailId, opts);
  try {
    return { ok: true, result: (await handle.result()) as AnalyzeEmailResult, handle };
  } catch (err) {
    return { ok: false, failure: describeFailure(err), handle };
  }
}

export async function startAnalysis(
  stack: Stack,
  emailId: string,
  opts: { force?: boolean; provider?: string } = {},
): Promise<WorkflowHandle> {
  const plan = await planAnalysis(stack.sql, stack.config.ai, {
    tenantId: stack.defaultTenant.id,
    emailId,
    provider: opts.provider,
    force: opts.force ?? false,
  });
  return (await startAnalysisRun(temporalAccess(stack), plan)).handle;
}

/** The metric rows one workflow's provider calls wrote, in call order. */
export async function metricRows(sql: Sql, workflowId: string) {
  const pattern = `${workflowId.replaceAll('%', '\\%').replaceAll('_', '\\_')}/%`;
  const metrics = await sql<
    {
      success: boolean;
      error_type: string | null;
      token_count: number;
      provider: string;
      model_name: string;
      tool_name: string;
      param_hash: string;
      tenant_id: string;
    }[]
  >`
    select success, error_type, token_count, provider, model_name, tool_name, param_hash, tenant_id
    from public.performance_metrics where call_key like ${pattern} order by id`;
  const prompts = await sql<
    {
      success: boolean;
      valid_output: boolean;
      error_type: string | null;
      prompt_version_id: string;
      arm: string;
    }[]
  >`
    select success, valid_output, error_type, prompt_version_id, arm
    from public.prompt_performance where call_key like ${pattern} order by id`;
  return { metrics, prompts };
}

/**
 * A workflow history as searchable text, with every payload DECRYPTED (with the tests' key ring) and
 * DECODED: payload data is base64 in the history's JSON form, so a plain JSON.stringify would never show
 * the text an assertion looks for. `rawHistoryText` is the same without the key: what the server holds.
 */
export function decodedHistoryText(history: unknown): string {
  return historyText(history, TEST_RING);
}

export function rawHistoryText(history: unknown): string {
  return historyText(history, null);
}

const TEST_RING = (() => {
  const ring = parseKeyRing(TEST_PAYLOAD_KEYS);
  if ('error' in ring) throw new Error(ring.error);
  return ring;
})();

const bytesOf = (data: unknown) =>
  data instanceof Uint8Array ? data : new Uint8Array(Buffer.from(String(data), 'base64'));

function historyText(history: unknown, ring: PayloadKey[] | null): string {
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if ('metadata' in record && 'data' in record && record.data) {
      const metadata = Object.fromEntries(
        Object.entries((record.metadata ?? {}) as Record<string, unknown>).map(([k, v]) => [k, bytesOf(v)]),
      );
      const payload = { metadata, data: bytesOf(record.data) };
      const plain = ring && isEncrypted(payload) ? decryptPayload(ring, payload) : payload;
      parts.push(Buffer.from(plain.data ?? new Uint8Array()).toString('utf8'));
    }
    for (const value of Object.values(record)) walk(value);
  };
  walk(history);
  return `${JSON.stringify(history)}\n${parts.join('\n')}`;
}

/**
 * The local activities a run recorded (one `core_local_activity` marker each), in order: type and attempt.
 * Their inputs are not in the history at all; their results are in the marker.
 */
export function localActivities(history: {
  events?:
    | { markerRecordedEventAttributes?: { markerName?: string | null; details?: unknown } | null }[]
    | null;
}): { type: string; attempt: number }[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const details = marker.details as Record<string, { payloads?: { data?: Uint8Array | string | null }[] }>;
    const data = details.data?.payloads?.[0]?.data;
    if (!data) return [];
    const text = data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : String(data);
    const info = JSON.parse(text) as { activity_type: string; attempt: number };
    return [{ type: info.activity_type, attempt: info.attempt }];
  });
}
