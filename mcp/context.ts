/** What every tool handler needs; built once per transport session. */
import type { Client } from '@temporalio/client';
import type { AiConfig } from '../core/ai-providers.js';
import type { Config } from '../core/config.js';
import type { ParseLimits } from '../core/email.js';
import type { Logger } from '../core/logger.js';
import type { Sql } from '../supabase/db.js';
import type { TemporalTarget } from '../temporal/client.js';
import type { Principal } from './principal.js';

export interface ToolContext {
  client: Client;
  sql: Sql;
  temporal: TemporalTarget;
  taskQueue: string;
  limits: ParseLimits;
  /** Upload settings: the files task queue, the import directory and the size limits. */
  files: Config['files'];
  /** Which analysis providers this server can start runs for (the key itself is not needed here). */
  ai: AiConfig;
  /** How long `wait: true` waits before returning status `running`. */
  waitMs: number;
  /** mbox imports: import directory, upload cap and batch defaults. */
  mailbox: Config['mailbox'];
  /** Prompt rollouts: which organizations' admins may change prompts, and default bake/poll times. */
  rollouts: Config['rollouts'];
  /** Retention policy, schedule id and operator organization. */
  retention: Config['retention'];
  principal: Principal;
  log: Logger;
}
