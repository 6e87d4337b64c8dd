/**
 * A database of its own for a test file, on the run's Postgres server, with the migrations applied.
 * For tests whose work is global by design (retention rollups and purges across all tenants): on the
 * shared database they would delete or roll up other test files' rows while those run.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase } from '../../dev-stack/postgres.js';
import { createDb } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';

export async function privateDatabase(label: string): Promise<string> {
  const name = `di_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const url = await createDatabase(inject('adminDatabaseUrl'), name);
  const sql = createDb({ url, max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.end();
  }
  return url;
}
