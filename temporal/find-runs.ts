/**
 * Finding runs by sender or Message-ID when search attributes hold keyed hashes: the operator gives the
 * clear value, this computes what the attribute holds (core/search-privacy.ts, with the same key the
 * runs were started under) and lists the matching runs, and the visibility query it used.
 */
import type { Client } from '@temporalio/client';
import type { PrivacyConfig } from '../core/config.js';
import { mailSearchValue } from '../core/search-privacy.js';
import { EmailFrom, MessageId, searchAttributeValue, TenantId } from '../workflows/search-attributes.js';

export interface FindRunsRequest {
  from?: string;
  messageId?: string;
  tenantId?: string;
}

export interface FoundRun {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
}

/** The visibility query; values are quoted for Temporal's SQL-like list filter. */
export function findRunsQuery(privacy: PrivacyConfig['searchAttributes'], request: FindRunsRequest): string {
  const clauses: string[] = [];
  if (request.tenantId)
    clauses.push(`${TenantId.name} = ${quote(searchAttributeValue(TenantId, request.tenantId))}`);
  if (request.from) {
    const value = mailSearchValue(privacy, 'EmailFrom', request.from);
    clauses.push(`${EmailFrom.name} = ${quote(searchAttributeValue(EmailFrom, value))}`);
  }
  if (request.messageId) {
    const value = mailSearchValue(privacy, 'MessageId', request.messageId);
    clauses.push(`${MessageId.name} = ${quote(searchAttributeValue(MessageId, value))}`);
  }
  if (clauses.length === 0) throw new Error('give --from or --message-id');
  return clauses.join(' AND ');
}

/** The same query as the Temporal CLI command an operator can run (and paste into the Web UI). */
export function temporalListCommand(namespace: string, query: string): string {
  return `temporal workflow list --namespace ${namespace} --query '${query.replaceAll("'", "'\\''")}'`;
}

export async function findRuns(client: Client, query: string, limit = 100): Promise<FoundRun[]> {
  const found: FoundRun[] = [];
  for await (const run of client.workflow.list({ query, pageSize: limit })) {
    found.push({
      workflowId: run.workflowId,
      runId: run.runId,
      type: run.type,
      status: run.status.name,
      startTime: run.startTime.toISOString(),
    });
    if (found.length >= limit) break;
  }
  return found;
}

function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}
