/**
 * The Postgres connection pool (postgres.js). This module and its neighbours in supabase/ are the only
 * code that knows table names. The worker is a long-running server, so it uses a direct connection
 * (Supabase's direct or pooler connection string); `prepare: false` makes the transaction pooler work.
 */
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;
/** Either the pool or a transaction (e.g. one running as the caller, see caller.ts). */
export type Queryable = Sql | Tx;

export interface DbOptions {
  url: string;
  /** false for Supabase's transaction pooler (port 6543), which cannot hold prepared statements. */
  prepare?: boolean;
  max?: number;
  applicationName?: string;
}

export function createDb(opts: DbOptions): Sql {
  return postgres(opts.url, {
    max: opts.max ?? 10,
    prepare: opts.prepare ?? true,
    idle_timeout: 30,
    connect_timeout: 15,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? 'durable-inbox' },
  });
}
