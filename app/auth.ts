/**
 * Bearer authentication: a token becomes a Principal (the MCP HTTP entry uses it; so will the inbound
 * HTTP endpoints). A token is either
 *  - a Supabase access token (a JWT), verified with SUPABASE_JWT_SECRET (HS256) or the project's JWKS,
 *    that must expire (`exp`), whose `sub` is a user; the user's organization memberships are its
 *    tenants; or
 *  - an API key (`di_…`) from the hashed api_keys table, scoped to one tenant.
 * Anything else is rejected; the HTTP layer answers 401.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Sql } from '../supabase/db.js';
import { API_KEY_PREFIX, findApiKey, membershipsOf } from '../supabase/tenants.js';
import type { Principal } from './principal.js';

export interface AuthOptions {
  sql: Sql;
  supabaseJwtSecret?: string;
  supabaseUrl?: string;
}

export class AuthError extends Error {
  override name = 'AuthError';
}

export type Authenticate = (authorization: string | undefined) => Promise<Principal>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createAuthenticator(opts: AuthOptions): Authenticate {
  const secret = opts.supabaseJwtSecret ? new TextEncoder().encode(opts.supabaseJwtSecret) : undefined;
  const jwks = opts.supabaseUrl
    ? createRemoteJWKSet(new URL('/auth/v1/.well-known/jwks.json', opts.supabaseUrl))
    : undefined;

  async function verifyJwt(token: string): Promise<JWTPayload> {
    const options = { audience: 'authenticated' };
    if (secret) {
      try {
        return (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
      } catch (err) {
        if (!jwks) throw err;
      }
    }
    if (jwks) return (await jwtVerify(token, jwks, options)).payload;
    throw new AuthError('JWTs are not accepted: set SUPABASE_JWT_SECRET or SUPABASE_URL');
  }

  return async (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match)
      throw new AuthError('missing bearer token: send "Authorization: Bearer <API key or access token>"');
    const token = match[1]!;

    if (token.startsWith(API_KEY_PREFIX)) {
      const key = await findApiKey(opts.sql, token);
      if (!key) throw new AuthError('invalid or revoked API key');
      return {
        actor: `api-key:${key.keyId}`,
        claims: { sub: key.keyId, role: 'authenticated' },
        tenants: [{ tenantId: key.tenantId, role: key.role }],
      };
    }

    if (token.split('.').length === 3) {
      const payload = await verifyJwt(token).catch((err: unknown) => {
        throw err instanceof AuthError ? err : new AuthError('invalid access token');
      });
      // A token without exp would never expire: a leaked one would work forever.
      if (typeof payload.exp !== 'number') {
        throw new AuthError('access token has no expiry (exp): only expiring access tokens are accepted');
      }
      if (!payload.sub || !UUID.test(payload.sub)) throw new AuthError('access token has no user (sub)');
      const memberships = await membershipsOf(opts.sql, payload.sub);
      return {
        actor: `user:${payload.sub}`,
        claims: { ...payload, sub: payload.sub, role: 'authenticated' },
        tenants: memberships,
      };
    }
    throw new AuthError('unrecognised bearer token');
  };
}
