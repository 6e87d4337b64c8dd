/**
 * Mail that arrives by itself (the SMTP listener, inbound-parse webhooks) enters here, and ends in the
 * same ingestion the MCP tools use (app/ingest.ts: parse, stage, start the run keyed by the message).
 *
 * The order is what makes "accepted" mean "stored": `acceptInbound` parses the message and, in ONE
 * transaction, stages its bytes and writes a ledger row per tenant (inbound_messages). Only then does the
 * listener answer 250 (or 200), and only then is the run started (`startAccepted`). A process that dies in
 * between leaves a ledger row without `started_at`, which the recovery sweep (`recoverInbound`) starts:
 * the sender was told "stored" only for a stored message, and the run is keyed by the message, so a
 * sweep racing a late start joins the same run.
 */
import type { InboundConfig } from '../core/config.js';
import type { ParsedEmail } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import { metrics } from '../core/metrics.js';
import type { Queryable } from '../supabase/db.js';
import { recordIngestFailure } from '../supabase/emails.js';
import {
  claimPending,
  type InboundSource,
  markStarted,
  markStartFailed,
  recordAccepted,
  tenantForRecipient,
} from '../supabase/inbound.js';
import { loadContent } from '../supabase/staged-content.js';
import { emailWorkflowId } from '../workflows/ingest-email.contract.js';
import type { AppDeps } from './deps.js';
import { parseOrRecord, startIngestRun } from './ingest.js';

/** What the inbound paths run over: no principal (a sender is no member), the routing settings instead. */
export type InboundDeps = Pick<AppDeps, 'sql' | 'temporal' | 'limits' | 'files' | 'log' | 'ai'> & {
  inbound: Pick<InboundConfig, 'localhostDomains' | 'recoveryGraceMs'>;
};

/** The tenant a recipient address belongs to, or null (unknown recipient). */
export function tenantOfRecipient(deps: InboundDeps, address: string): Promise<string | null> {
  return tenantForRecipient(deps.sql, address, deps.inbound.localhostDomains);
}

/** Recipients grouped by tenant, and the ones no tenant receives mail for. */
export async function routeRecipients(
  deps: InboundDeps,
  addresses: string[],
): Promise<{ tenants: Map<string, string[]>; unknown: string[] }> {
  const tenants = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const address of new Set(addresses.map((a) => a.trim().toLowerCase()).filter(Boolean))) {
    const tenantId = await tenantOfRecipient(deps, address);
    if (!tenantId) unknown.push(address);
    else tenants.set(tenantId, [...(tenants.get(tenantId) ?? []), address]);
  }
  return { tenants, unknown };
}

export interface InboundMessage {
  source: InboundSource;
  raw: Uint8Array;
  /** Tenant → the recipients of that tenant the message is for. */
  tenants: Map<string, string[]>;
  /** Envelope sender, remote address, provider ids: kept on the ledger row. */
  envelope: Record<string, unknown>;
  /** Runs inside the accepting transaction first (a webhook's replay check). */
  before?: (tx: Queryable) => Promise<void>;
}

export interface AcceptedInbound {
  parsed: ParsedEmail;
  runs: { ledgerId: string; tenantId: string; workflowId: string }[];
}

/**
 * Parse and store: when this returns, the message is staged and recorded for every tenant (the listener
 * may now say so); when it throws, nothing was stored. A message the parser refuses leaves an
 * `ingest_failures` row for each tenant and throws the parser's UserFacingError.
 */
export async function acceptInbound(deps: InboundDeps, message: InboundMessage): Promise<AcceptedInbound> {
  const tenantIds = [...message.tenants.keys()];
  if (tenantIds.length === 0) {
    throw new UserFacingError(ErrorType.UnknownRecipient, 'no recipient of this message is served here');
  }
  const email = await parseOrRecord(deps, tenantIds, message.raw, message.source);
  const ledgerIds = await recordAccepted(
    deps.sql,
    message.source,
    tenantIds.map((tenantId) => ({
      tenantId,
      rawSha256: email.rawSha256,
      dedupKey: email.dedupKey,
      raw: message.raw,
      envelope: { ...message.envelope, recipients: message.tenants.get(tenantId) },
    })),
    message.before,
  );
  for (const tenantId of tenantIds) metrics.emailIngested(message.source, tenantId);
  return {
    parsed: email,
    runs: tenantIds.map((tenantId, i) => ({
      ledgerId: ledgerIds[i]!,
      tenantId,
      workflowId: emailWorkflowId(tenantId, email.dedupKey),
    })),
  };
}

/**
 * Start the ingestion run of each tenant's copy. Never throws: a start that fails (Temporal down) is
 * recorded on the ledger row and in ingest_failures, and the recovery sweep starts it later.
 */
export async function startAccepted(deps: InboundDeps, accepted: AcceptedInbound): Promise<void> {
  await Promise.all(
    accepted.runs.map(async (run) => {
      try {
        const { handle } = await startIngestRun(deps, run.tenantId, accepted.parsed);
        await markStarted(deps.sql, run.ledgerId, handle.workflowId);
      } catch (err) {
        const { type, message } = describeFailure(err);
        deps.log.warn('inbound mail stored, its run did not start yet; the recovery sweep retries', {
          ledgerId: run.ledgerId,
          type,
          message,
        });
        await markStartFailed(deps.sql, run.ledgerId, `${type}: ${message}`).catch(() => {});
      }
    }),
  );
}

/**
 * Start the runs of accepted messages that never started (older than the grace period, so a start in
 * flight is not raced). Returns how many it started. Rows are claimed with SKIP LOCKED: several
 * processes may sweep at once.
 */
export async function recoverInbound(deps: InboundDeps, limit = 200): Promise<number> {
  const olderThan = new Date(Date.now() - deps.inbound.recoveryGraceMs);
  let started = 0;
  await deps.sql.begin(async (tx) => {
    for (const row of await claimPending(tx, olderThan, limit)) {
      const raw = await loadContent(tx, row.tenantId, row.rawSha256);
      if (!raw) {
        await markStartFailed(tx, row.id, 'RawMessageMissing: the staged message is gone', true);
        await recordIngestFailure(
          tx,
          row.tenantId,
          row.rawSha256,
          ErrorType.RawMessageMissing,
          'staged bytes gone before the run started',
        );
        continue;
      }
      try {
        const parsed = await parseOrRecord(deps, [row.tenantId], raw, row.source);
        const { handle } = await startIngestRun(deps, row.tenantId, parsed);
        await markStarted(tx, row.id, handle.workflowId);
        started++;
      } catch (err) {
        const { type, message } = describeFailure(err);
        // A message the parser refuses now (limits lowered since) will never start: stop retrying it.
        const final = err instanceof UserFacingError;
        await markStartFailed(tx, row.id, `${type}: ${message}`, final);
        if (!final) break; // Temporal is still down: the next sweep tries again.
      }
    }
  });
  if (started > 0) deps.log.info('inbound recovery started runs', { started });
  return started;
}

/** Sweep now and then every `everyMs` until stopped; a failed sweep is logged and retried next time. */
export function startInboundRecovery(deps: InboundDeps, everyMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const sweep = () => {
    if (stopped) return;
    // Ledger rows whose run started are the retention workflow's (RETENTION_INBOUND_DAYS).
    running = recoverInbound(deps).catch((err: unknown) =>
      deps.log.warn('inbound recovery sweep failed', { error: describeFailure(err).message }),
    );
  };
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
