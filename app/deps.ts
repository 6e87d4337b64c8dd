/**
 * What every application function runs over. Built once per caller by whoever serves it (the MCP
 * transports, later the inbound HTTP endpoints and the IMAP connector; tests build their own), so the
 * functions themselves never read configuration or open connections.
 */
import type { Client } from '@temporalio/client';
import type { AiConfig } from '../core/ai-providers.js';
import type { CommitNotices } from '../core/commit-notices.js';
import type { Config } from '../core/config.js';
import type { ParseLimits } from '../core/email.js';
import type { Logger } from '../core/logger.js';
import type { Sql } from '../supabase/db.js';
import type { TemporalTarget } from '../temporal/client.js';
import type { TaskQueues } from '../workflows/contract.js';
import type { StoreStepResult } from '../workflows/ingest-email.contract.js';
import type { Principal } from './principal.js';

export interface TemporalAccess {
  client: Client;
  /** Where Temporal is, and its Web UI for links to runs. */
  target: TemporalTarget;
  /** The task queue names by role, for contracts' `taskQueue`. */
  queues: TaskQueues;
  /**
   * The bound on a start (TEMPORAL_START_TIMEOUT_SECONDS): past it the caller reads TemporalUnavailable
   * instead of waiting out the client's retries of an unreachable server.
   */
  startTimeoutMs: number;
  /**
   * Ask for eager workflow start (the first workflow task comes back in the start's answer, to the
   * worker in this process): only when the client shares that worker's connection (TEMPORAL_EAGER_START).
   */
  eagerStart?: boolean;
  /** With eager start: the store steps run in this process tell the call waiting on them (ingest_email). */
  commitNotices?: CommitNotices<StoreStepResult>;
  /**
   * The bound on the other calls a tool makes to Temporal (TEMPORAL_CALL_TIMEOUT_SECONDS): describe,
   * query, signal, update, a closed run's result. Never on waiting for a run, which has its own wait.
   */
  callTimeoutMs: number;
  /** Mail values in search attributes: clear, or keyed hashes (core/search-privacy.ts). */
  searchPrivacy: Config['privacy']['searchAttributes'];
}

export interface AppDeps {
  sql: Sql;
  temporal: TemporalAccess;
  limits: ParseLimits;
  /** Upload settings: the files task queue, the import directory and the size limits. */
  files: Config['files'];
  /** Which analysis providers this server can start runs for (the key itself is not needed here). */
  ai: AiConfig;
  /** How long a waiting call waits before answering with status `running`. */
  waitMs: number;
  /** mbox imports: import directory, upload cap and batch defaults. */
  mailbox: Config['mailbox'];
  /** IMAP mailboxes: the credentials key (or the local key file). */
  imap: Config['imap'];
  /** Outgoing webhooks: SSRF rules, timeouts, the rotation grace (secrets use the `imap` key). */
  webhooks: Config['webhooks'];
  /** Prompt rollouts: which organizations' admins may change prompts, and default bake/poll times. */
  rollouts: Config['rollouts'];
  /** Retention policy, schedule id and operator organization. */
  retention: Config['retention'];
  principal: Principal;
  log: Logger;
}

/** Progress a long call reports while it waits; the MCP layer turns it into notifications/progress. */
export interface Progress {
  progress: number;
  total?: number;
  message?: string;
}
export type ProgressListener = (p: Progress) => Promise<void> | void;

/** How a caller waits: whether at all, until when (an abort signal) and with what progress reports. */
export interface WaitRequest {
  wait?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}
