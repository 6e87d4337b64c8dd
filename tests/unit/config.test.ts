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
    expect(config.mcp).toEqual({
      host: '127.0.0.1',
      port: 8787,
      waitMs: 40_000,
      allowedHosts: [],
      allowedOrigins: [],
      // The largest tool payload is a 64 MiB uploaded mailbox: base64 (×1.4 with slack) plus 64 KiB.
      maxBodyBytes: Math.ceil(64 * 1024 * 1024 * 1.4) + 64 * 1024,
      maxBodyBytesInFlight: 256 * 1024 * 1024,
      sessions: { max: 1000, idleMs: 1_800_000, keepAliveMs: 15_000, replayMessages: 1000 },
    });
    // No LISTEN on the embedded database (one connection): the outbox is polled.
    expect(config.events).toEqual({ pollMs: 200, notify: false });
    expect(loadConfig({ DATABASE_URL: 'postgres://h:5432/db' }).events).toEqual({
      pollMs: 2000,
      notify: true,
    });
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
      PAYLOAD_ENCRYPTION_KEYS: KEYS,
      SEARCH_ATTRIBUTE_HMAC_KEY: HMAC_KEY,
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
    [{ TEMPORAL_FILES_TASK_QUEUE: 'files queue' }, /TEMPORAL_FILES_TASK_QUEUE: letters, digits/],
    [{ FILES_WORKER_CONCURRENCY: '0' }, /FILES_WORKER_CONCURRENCY: /],
    [{ MAX_UPLOAD_BYTES: '-5' }, /MAX_UPLOAD_BYTES: /],
    [{ AI_PROVIDER: 'gpt' }, /AI_PROVIDER: /],
    [{ AI_PROVIDER: 'sambanova' }, /AI_API_KEY: required when AI_PROVIDER is sambanova/],
    [
      { AI_PROVIDER: 'openai-compatible', AI_API_KEY: 'k' },
      /AI_BASE_URL: required when AI_PROVIDER is openai-compatible; AI_MODEL: required/,
    ],
    [{ AI_RATE_LIMIT_PER_SECOND: '0' }, /AI_RATE_LIMIT_PER_SECOND: /],
    [{ AI_BASE_URL: 'ftp://x' }, /AI_BASE_URL: /],
    [{ TEMPORAL_AI_TASK_QUEUE_PREFIX: 'ai/' }, /TEMPORAL_AI_TASK_QUEUE_PREFIX: /],
    [{ MCP_ALLOWED_HOSTS: 'mcp.example.com:443' }, /MCP_ALLOWED_HOSTS: host names without port/],
    [{ MCP_ALLOWED_ORIGINS: 'https://app.example.com/path' }, /MCP_ALLOWED_ORIGINS: origins \(scheme/],
    [{ MCP_HTTP_HOST: '0.0.0.0' }, /MCP_ALLOWED_HOSTS: required when MCP_HTTP_HOST is not a loopback/],
    [{ MCP_MAX_BODY_BYTES_IN_FLIGHT: '1000' }, /MCP_MAX_BODY_BYTES_IN_FLIGHT: must be at least the largest/],
  ])('names the bad variable: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads the HTTP entry allow-lists, lowercased and normalised', () => {
    const { mcp } = loadConfig({
      MCP_HTTP_HOST: '0.0.0.0',
      MCP_ALLOWED_HOSTS: 'MCP.Example.com, [::1] ,',
      MCP_ALLOWED_ORIGINS: 'https://App.example.com/,http://localhost:6274',
    });
    expect(mcp.allowedHosts).toEqual(['mcp.example.com', '[::1]']);
    expect(mcp.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:6274']);
  });

  it('picks the storage backend and the upload settings', () => {
    const local = loadConfig({}, '/srv/app');
    expect(local.storage).toEqual({ kind: 'filesystem', root: '/srv/app/.data/storage' });
    expect(local.files).toEqual({
      taskQueue: 'files',
      concurrency: 4,
      importDir: '/srv/app/.data/import',
      maxUploadBytes: 1024 * 1024 * 1024,
      maxInlineBytes: 20 * 1024 * 1024,
      buckets: ['uploads'],
    });
    expect(loadConfig({ STORAGE_BUCKETS: ' docs, media_2 ' }).files.buckets).toEqual(['docs', 'media_2']);
    expect(() => loadConfig({ STORAGE_BUCKETS: 'docs,../x' })).toThrow(
      /STORAGE_BUCKETS: bucket names are 1-63 of a-z, 0-9, "_" and "-"/,
    );
    // Only the URL: still the filesystem, because uploads need the service role key.
    expect(loadConfig({ SUPABASE_URL: 'https://x.supabase.co' }).storage.kind).toBe('filesystem');
    const remote = loadConfig(
      {
        SUPABASE_URL: 'https://x.supabase.co',
        SUPABASE_SERVICE_ROLE_KEY: 'service-key',
        TEMPORAL_FILES_TASK_QUEUE: 'uploads',
        FILES_WORKER_CONCURRENCY: '8',
        DURABLE_INBOX_IMPORT_DIR: 'inbox/import',
        MAX_UPLOAD_BYTES: '1000',
      },
      '/srv/app',
    );
    expect(remote.storage).toEqual({
      kind: 'supabase',
      url: 'https://x.supabase.co',
      serviceRoleKey: 'service-key',
    });
    expect(remote.files).toMatchObject({
      taskQueue: 'uploads',
      concurrency: 8,
      importDir: '/srv/app/inbox/import',
      maxUploadBytes: 1000,
      // never more than the overall limit
      maxInlineBytes: 1000,
    });
  });

  it('uses the heuristic analyser without a key, and a provider preset with one', () => {
    expect(loadConfig({}).ai).toEqual({
      defaultProvider: 'heuristic',
      analyseOnIngest: true,
      taskQueuePrefix: 'ai-',
    });
    // docker compose passes unset variables as empty strings.
    expect(loadConfig({ AI_PROVIDER: '', AI_API_KEY: '', AI_BASE_URL: '' }).ai.defaultProvider).toBe(
      'heuristic',
    );
    const kimi = loadConfig({
      AI_PROVIDER: 'moonshot',
      AI_API_KEY: 'sk-secret',
      AI_ANALYSIS_ON_INGEST: 'false',
    }).ai;
    expect(kimi).toMatchObject({
      defaultProvider: 'moonshot',
      analyseOnIngest: false,
      llm: {
        provider: 'moonshot',
        baseURL: 'https://api.moonshot.ai/v1',
        responseFormat: 'json_object',
        ratePerSecond: 5,
        maxConcurrency: 4,
        timeoutMs: 60_000,
      },
    });
    expect(loadConfig({ AI_API_KEY: 'sk-x' }).ai.llm).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      responseFormat: 'json_schema',
    });
    const custom = loadConfig({
      AI_API_KEY: 'k',
      AI_BASE_URL: 'http://127.0.0.1:11434/v1',
      AI_MODEL: 'llama3',
      AI_RESPONSE_FORMAT: 'json_schema',
      AI_RATE_LIMIT_PER_SECOND: '0.5',
      TEMPORAL_AI_TASK_QUEUE_PREFIX: 'llm-',
    }).ai;
    expect(custom).toMatchObject({
      defaultProvider: 'openai-compatible',
      taskQueuePrefix: 'llm-',
      llm: { model: 'llama3', responseFormat: 'json_schema', ratePerSecond: 0.5 },
    });
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

const KEYS = `k2:${Buffer.alloc(32, 2).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`;
const HMAC_KEY = 'an-hmac-key-of-at-least-32-characters';

describe('what a shared Temporal may see (issue 18)', () => {
  it('locally: a generated key and clear search attributes, unless told otherwise', () => {
    expect(loadConfig({}).privacy).toEqual({
      encryption: { mode: 'local' },
      searchAttributes: { clear: true },
    });
    expect(loadConfig({ PAYLOAD_ENCRYPTION: 'off' }).privacy.encryption).toEqual({ mode: 'off' });
    expect(loadConfig({ SEARCH_ATTRIBUTE_HMAC_KEY: HMAC_KEY }).privacy.searchAttributes).toEqual({
      clear: false,
      hmacKey: HMAC_KEY,
    });
  });

  it('on a shared Temporal: the key ring (first encrypts) and keyed hashes are required', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      PAYLOAD_ENCRYPTION_KEYS: KEYS,
      SEARCH_ATTRIBUTE_HMAC_KEY: HMAC_KEY,
    });
    const { encryption } = config.privacy;
    expect(encryption.mode === 'keys' && encryption.keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(config.privacy.searchAttributes).toEqual({ clear: false, hmacKey: HMAC_KEY });
    expect(() => loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' })).toThrow(
      'Invalid configuration: PAYLOAD_ENCRYPTION_KEYS: required when TEMPORAL_ADDRESS is set (payloads are encrypted on a shared Temporal): id:base64key, e.g. k1:$(openssl rand -base64 32); or PAYLOAD_ENCRYPTION=off; SEARCH_ATTRIBUTE_HMAC_KEY: required when TEMPORAL_ADDRESS is set (EmailFrom, MessageId and ThreadId are keyed hashes): e.g. $(openssl rand -base64 32); or TEMPORAL_CLEAR_SEARCH_ATTRIBUTES=true',
    );
    expect(
      loadConfig({
        TEMPORAL_ADDRESS: 'temporal:7233',
        PAYLOAD_ENCRYPTION: 'off',
        TEMPORAL_CLEAR_SEARCH_ATTRIBUTES: 'true',
      }).privacy,
    ).toEqual({ encryption: { mode: 'off' }, searchAttributes: { clear: true } });
  });

  it.each([
    ['k1', 'entry 1: expected id:base64key'],
    ['k1:c2hvcnQ=', 'key "k1": must be 32 bytes in base64'],
    [
      `k1:${Buffer.alloc(32).toString('base64')},k1:${Buffer.alloc(32).toString('base64')}`,
      'key "k1" appears twice',
    ],
  ])('refuses the key ring %s, without printing it', (ring, message) => {
    let error = '';
    try {
      loadConfig({ PAYLOAD_ENCRYPTION_KEYS: ring });
    } catch (err) {
      error = String(err);
    }
    expect(error).toContain(`PAYLOAD_ENCRYPTION_KEYS: ${message}`);
    expect(error).not.toContain(ring);
  });
});
