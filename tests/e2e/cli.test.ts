/**
 * The CLI commands people and containers run: health (docker health checks), migrate, api-key create,
 * and what a typo or bad configuration prints.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { findApiKey } from '../../supabase/tenants.js';
import { runCli, testDb, testEnv } from '../support/harness.js';

const cli = runCli;

describe('durable-inbox CLI', () => {
  const sql = testDb();
  afterAll(() => sql.end());

  it('health passes against live services and fails clearly against a dead database', async () => {
    const env = testEnv();
    expect(await cli(['health'], env)).toMatchObject({ code: 0 });
    const dead = await cli(['health'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/^durable-inbox: .*(ECONNREFUSED|connect)/m);
  });

  it('migrate is idempotent, and api-key create prints a working key', async () => {
    const env = testEnv();
    expect(await cli(['migrate'], env)).toMatchObject({ code: 0 });
    const created = await cli(['api-key', 'create', 'ci', '--role', 'admin'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^di_[\w-]{43}$/);
    expect(await findApiKey(sql, key)).toMatchObject({ role: 'admin' });
  });

  it('bad usage and bad configuration exit 2 with one readable line', async () => {
    const env = testEnv();
    const typo = await cli(['strat'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^durable-inbox: usage: durable-inbox <start/);
    const badEnv = await cli(['migrate'], { ...env, MAX_EMAIL_BYTES: 'lots' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(
      /^durable-inbox: Invalid configuration: MAX_EMAIL_BYTES: .*\(got "lots"\)$/m,
    );
    const badRole = await cli(['api-key', 'create', 'x', '--role', 'root'], env);
    expect(badRole.stderr).toMatch(/--role: admin, member or viewer/);
  });
});
