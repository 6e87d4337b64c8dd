/** What every tool handler needs; built once per transport session. */
import type { Client } from '@temporalio/client';
import type { AiConfig } from '../core/ai-providers.js';
import type { ParseLimits } from '../core/email.js';
import type { Logger } from '../core/logger.js';
import type { Sql } from '../supabase/db.js';
import type { TemporalTarget } from '../workers/temporal.js';
import type { Principal } from './principal.js';

export interface ToolContext {
  client: Client;
  sql: Sql;
  temporal: TemporalTarget;
  taskQueue: string;
  limits: ParseLimits;
  /** Which analysis providers this server can start runs for (the key itself is not needed here). */
  ai: AiConfig;
  /** How long `wait: true` waits before returning status `running`. */
  waitMs: number;
  principal: Principal;
  log: Logger;
}
