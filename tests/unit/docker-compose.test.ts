/**
 * docker-compose.yml cannot run here (no Docker engine), so check what can be checked: every service
 * has an image or a build and a health check, the app services' environment passes the app's own config
 * parser, and it points them at external services instead of the embedded defaults.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../core/config.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] | string };
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = Object.entries(compose.services);

/** Resolve `${VAR:-default}` and `${VAR:?message}` the way compose does, with sample values for required vars. */
function interpolate(value: string | number): string {
  return String(value).replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_m, name: string, op?: string, arg?: string) => {
      if (op === '-') return arg ?? '';
      if (name === 'DATABASE_URL')
        return 'postgresql://postgres:postgres@host.docker.internal:54322/postgres';
      if (name === 'PAYLOAD_ENCRYPTION_KEYS') return `k1:${Buffer.alloc(32, 1).toString('base64')}`;
      return `sample-${name}`;
    },
  );
}

describe('docker-compose.yml', () => {
  it('has Temporal with its own Postgres, the UI, a worker and the MCP server', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'mcp',
      'temporal',
      'temporal-postgresql',
      'temporal-ui',
      'worker',
    ]);
  });

  it.each(services)('%s has an image or a build, and a health check', (_name, service) => {
    expect(Boolean(service.image) || Boolean(service.build)).toBe(true);
    expect(service.healthcheck?.test).toBeTruthy();
  });

  it.each(['worker', 'mcp'])(
    '%s gets an environment the config parser accepts, pointing at real services',
    (name) => {
      const env = Object.fromEntries(
        Object.entries(compose.services[name]!.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
      );
      const config = loadConfig(env);
      expect(config.database.kind).toBe('external');
      expect(config.temporal.address).toBe('temporal:7233');
      expect(compose.services[name]!.build).toBe('.');
    },
  );

  it('serves MCP on all interfaces in its container and runs the worker command', () => {
    expect(compose.services.mcp!.command).toEqual(['mcp', '--http']);
    expect(compose.services.mcp!.environment?.MCP_HTTP_HOST).toBe('0.0.0.0');
    // Listening on every interface needs the host names it answers (the config refuses to start without).
    const env = Object.fromEntries(
      Object.entries(compose.services.mcp!.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
    );
    expect(loadConfig(env).mcp.allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(compose.services.worker!.command).toEqual(['worker']);
  });

  it('checks the MCP server by its readiness endpoint (database, Temporal and storage reachable)', () => {
    const test = compose.services.mcp!.healthcheck!.test;
    expect(Array.isArray(test) ? test.join(' ') : test).toContain('http://127.0.0.1:8787/readyz');
  });
});
