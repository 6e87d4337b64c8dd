/**
 * Apply pending migrations from supabase/migrations, once each, in filename order.
 *
 * Applied versions are recorded in `supabase_migrations.schema_migrations`, the table the Supabase CLI
 * itself uses, so `supabase db push` and this runner agree about what a database already has. A
 * transaction-scoped advisory lock lets several workers start at once without racing.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './db.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const LOCK_KEY = 727_001_223; // arbitrary, constant: "durable-inbox migrations"

export interface Migration {
  version: string;
  name: string;
  file: string;
}

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return files.map((file) => {
    const match = /^(\d{14})_(.+)\.sql$/.exec(file);
    if (!match) throw new Error(`Migration file ${file} must be named <14-digit timestamp>_<name>.sql`);
    return { version: match[1]!, name: match[2]!, file: path.join(dir, file) };
  });
}

/** Returns the versions applied by this call (empty when the database was up to date). */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await listMigrations(dir);
  await sql.unsafe(`
    create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (
      version text primary key, statements text[], name text
    );`);
  const applied: string[] = [];
  for (const m of migrations) {
    const body = await readFile(m.file, 'utf8');
    const done = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
      const [row] =
        await tx`select 1 from supabase_migrations.schema_migrations where version = ${m.version}`;
      if (row) return false;
      await tx.unsafe(body);
      await tx`insert into supabase_migrations.schema_migrations (version, name, statements)
               values (${m.version}, ${m.name}, ${[body]})`;
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
