/**
 * Analysis storage: the email as an analyser sees it, stored results (history + emails.ai_analysis),
 * and the per-call metric rows. Multi-row writes are the SQL functions of migration 20261123002000.
 */
import type { Analysis, EmailForAnalysis } from '../core/analysis.js';
import type { Queryable, Sql } from './db.js';

export interface StoredEmailForAnalysis extends EmailForAnalysis {
  id: string;
}

/** The email's text for an analyser, read by id and scoped by tenant. */
export async function loadEmailForAnalysis(
  sql: Queryable,
  tenantId: string,
  emailId: string,
): Promise<StoredEmailForAnalysis | null> {
  const [row] = await sql<
    {
      id: string;
      subject: string | null;
      from_addresses: { name: string | null; address: string }[];
      to_addresses: { address: string }[];
      sent_at: Date | null;
      headers: Record<string, string[]>;
      text_body: string | null;
      html_body: string | null;
    }[]
  >`
    select id, subject, from_addresses, to_addresses, sent_at, headers, text_body, html_body
    from public.emails where id = ${emailId} and tenant_id = ${tenantId}`;
  if (!row) return null;
  return {
    id: row.id,
    subject: row.subject,
    from: row.from_addresses[0] ?? null,
    to: row.to_addresses.map((a) => a.address),
    sentAt: row.sent_at?.toISOString() ?? null,
    headers: row.headers,
    textBody: row.text_body,
    htmlBody: row.html_body,
  };
}

/** The subject line only: enough for a workflow summary, without loading the body. */
export async function emailSubject(
  sql: Queryable,
  tenantId: string,
  emailId: string,
): Promise<{ subject: string | null } | null> {
  const [row] = await sql<{ subject: string | null }[]>`
    select subject from public.emails where id = ${emailId} and tenant_id = ${tenantId}`;
  return row ?? null;
}

export interface StoredAnalysis {
  analysisId: string;
  result: Analysis;
  provider: string;
  model: string;
}

export async function findStoredAnalysis(
  sql: Queryable,
  tenantId: string,
  emailId: string,
  promptVersionId: string,
): Promise<StoredAnalysis | null> {
  const [row] = await sql<StoredAnalysis[]>`
    select id as "analysisId", result, provider, model from public.ai_analyses
    where tenant_id = ${tenantId} and email_id = ${emailId} and prompt_version_id = ${promptVersionId}`;
  return row ?? null;
}

export async function analysisById(sql: Queryable, analysisId: string): Promise<StoredAnalysis | null> {
  const [row] = await sql<StoredAnalysis[]>`
    select id as "analysisId", result, provider, model from public.ai_analyses where id = ${analysisId}`;
  return row ?? null;
}

export interface AnalysisRecord {
  promptVersionId: string;
  provider: string;
  model: string;
  result: Analysis;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  durationMs: number;
  cost: number;
  workflowId: string;
}

/** Store a result; without `force` an existing one for the same prompt version wins and is returned. */
export async function storeEmailAnalysis(
  sql: Sql,
  tenantId: string,
  emailId: string,
  record: AnalysisRecord,
  force: boolean,
): Promise<{ analysisId: string; stored: boolean; result: Analysis }> {
  const [row] = await sql<{ analysis_id: string; stored: boolean; result: Analysis }[]>`
    select analysis_id, stored, result
    from public.store_email_analysis(${tenantId}, ${emailId}, ${sql.json(asJson(record))}, ${force})`;
  return { analysisId: row!.analysis_id, stored: row!.stored, result: row!.result };
}

/** One provider call (success or failure) as the metric tables record it. */
export interface AiCallRecord {
  /** Natural key: workflow id / activity id / attempt / call number within the attempt. */
  callKey: string;
  at: string;
  tenantId: string | null;
  emailId: string | null;
  toolName: string;
  provider: string;
  model: string;
  durationMs: number;
  tokens: number;
  paramHash: string;
  success: boolean;
  validOutput: boolean;
  errorType: string | null;
  promptVersionId?: string;
  arm?: 'baseline' | 'candidate';
}

export async function recordAiCall(sql: Sql, call: AiCallRecord): Promise<void> {
  await sql`select public.record_ai_call(${sql.json(asJson(call))})`;
}

type Json = Parameters<Sql['json']>[0];
function asJson(value: object): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}
