import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';

describe('loadConfig', () => {
  it('defaults to the zero-install stack', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.database).toEqual({ kind: 'embedded', dir: path.join('/srv/app/.data', 'pglite') });
    expect(config.temporal).toMatchObject({
      address: undefined,
      namespace: 'default',
      taskQueue: 'durable-inbox',
    });
    expect(config.mcp).toEqual({ host: '127.0.0.1', port: 8787, waitMs: 40_000 });
    expect(config.limits).toEqual({
      maxEmailBytes: 25 * 1024 * 1024,
      maxAttachments: 100,
      maxHeaderBytes: 1024 * 1024,
      maxMimeDepth: 50,
    });
    expect(config.tenant).toBe('local');
  });

  it('reads an external database and Temporal Cloud', () => {
    const config = loadConfig({
      SUPABASE_DB_URL: 'postgresql://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres',
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: 'secret',
    });
    expect(config.database).toMatchObject({ kind: 'external', prepare: false });
    expect(config.temporal).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', tls: true });
    expect(loadConfig({ DATABASE_URL: 'postgres://h:5432/db' }).database).toMatchObject({ prepare: true });
    expect(
      loadConfig({ DATABASE_URL: 'postgres://h:5432/db', DATABASE_PREPARE: 'false' }).database,
    ).toMatchObject({
      prepare: false,
    });
  });

  it.each([
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ TEMPORAL_ADDRESS: 'http://localhost:7233' }, /TEMPORAL_ADDRESS: must be host:port/],
    [{ MAX_EMAIL_BYTES: 'lots' }, /MAX_EMAIL_BYTES: .*\(got "lots"\)/],
    [{ MCP_HTTP_PORT: '70000' }, /MCP_HTTP_PORT: /],
    [{ MAX_MIME_DEPTH: '0' }, /MAX_MIME_DEPTH: /],
    [{ MAX_ATTACHMENTS: '-1' }, /MAX_ATTACHMENTS: /],
    [{ MCP_WAIT_SECONDS: '120' }, /MCP_WAIT_SECONDS: /],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: /],
    [{ DURABLE_INBOX_TENANT: '../etc' }, /DURABLE_INBOX_TENANT: must be an organization slug or uuid/],
    [{ SUPABASE_URL: 'not a url' }, /SUPABASE_URL: /],
  ])('names the bad variable: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reports every bad variable at once and never echoes secrets', () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:hunter2@x', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(String(error)).toMatch(/DATABASE_URL: .*; LOG_LEVEL: /);
    expect(String(error)).not.toContain('hunter2');
  });
});
