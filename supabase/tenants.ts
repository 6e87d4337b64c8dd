/**
 * Organizations (tenants), memberships and API keys. API keys are random, shown once, and stored as
 * SHA-256 hashes; a key is scoped to exactly one organization.
 */

import { createHash, randomBytes } from 'node:crypto';
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { Queryable, Sql } from './db.js';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
}

export type MemberRole = 'owner' | 'admin' | 'member' | 'viewer';

export interface ApiKeyIdentity {
  keyId: string;
  tenantId: string;
  role: MemberRole;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const API_KEY_PREFIX = 'di_';

export async function ensureOrganization(sql: Sql, slug: string, name = slug): Promise<Tenant> {
  const [row] = await sql<Tenant[]>`
    insert into public.organizations (slug, name) values (${slug}, ${name})
    on conflict (slug) do update set slug = excluded.slug
    returning id, slug, name`;
  return row!;
}

/** Find a tenant by id or slug. */
export async function findTenant(sql: Queryable, idOrSlug: string): Promise<Tenant | null> {
  const rows = UUID.test(idOrSlug)
    ? await sql<Tenant[]>`select id, slug, name from public.organizations where id = ${idOrSlug}`
    : await sql<Tenant[]>`select id, slug, name from public.organizations where slug = ${idOrSlug}`;
  return rows[0] ?? null;
}

/** A tenant's slug by its id (import folders are named by it); TenantNotFound when there is none. */
export async function tenantSlug(sql: Queryable, tenantId: string): Promise<string> {
  const tenant = await findTenant(sql, tenantId);
  if (!tenant) throw new UserFacingError(ErrorType.TenantNotFound, `no organization ${tenantId}`);
  return tenant.slug;
}

export async function addMember(sql: Sql, orgId: string, userId: string, role: MemberRole): Promise<void> {
  await sql`
    insert into public.organization_members (org_id, user_id, role) values (${orgId}, ${userId}, ${role})
    on conflict (org_id, user_id) do update set role = excluded.role`;
}

export async function membershipsOf(
  sql: Sql,
  userId: string,
): Promise<{ tenantId: string; role: MemberRole }[]> {
  return sql<{ tenantId: string; role: MemberRole }[]>`
    select org_id as "tenantId", role from public.organization_members where user_id = ${userId}
    order by created_at`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * Register a key under a name, replacing (and so revoking) any key of that name in the tenant. For the
 * process's own identities (the local key file, the stdio identity), which re-register on every start.
 * People create keys with createApiKey, which never replaces a key unasked. Returns the key id.
 */
export async function registerApiKey(
  sql: Sql,
  tenantId: string,
  name: string,
  key: string,
  role: Exclude<MemberRole, 'owner'> = 'member',
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into public.api_keys (org_id, name, key_hash, role)
    values (${tenantId}, ${name}, ${hashApiKey(key)}, ${role})
    on conflict (org_id, name) do update
      set key_hash = excluded.key_hash, role = excluded.role, revoked_at = null
    returning id`;
  return row!.id;
}

export type CreateApiKeyResult =
  | { status: 'created'; keyId: string }
  /** `rotate` was given and a live key of that name existed: it no longer works. */
  | { status: 'rotated'; keyId: string; revokedCreatedAt: Date }
  /** A live key of that name exists and `rotate` was not given: nothing changed. */
  | { status: 'exists' };

/**
 * Create a named key. A live key of the same name is replaced only with `rotate` (replacing it revokes
 * it); a revoked one is replaced silently, since nothing that works stops working.
 */
export async function createApiKey(
  sql: Sql,
  tenantId: string,
  name: string,
  key: string,
  role: Exclude<MemberRole, 'owner'>,
  opts: { rotate: boolean },
): Promise<CreateApiKeyResult> {
  const [created] = await sql<{ id: string }[]>`
    insert into public.api_keys (org_id, name, key_hash, role)
    values (${tenantId}, ${name}, ${hashApiKey(key)}, ${role})
    on conflict (org_id, name) do nothing
    returning id`;
  if (created) return { status: 'created', keyId: created.id };
  // The row is locked by the update, so two concurrent rotations cannot both report the same old key.
  const [replaced] = await sql<{ id: string; wasLive: boolean; createdAt: Date }[]>`
    with old as (
      select id, revoked_at, created_at from public.api_keys
      where org_id = ${tenantId} and name = ${name} for update
    )
    update public.api_keys k
      set key_hash = ${hashApiKey(key)}, role = ${role}, revoked_at = null, last_used_at = null,
          created_at = now()
    from old
    where k.id = old.id and (${opts.rotate} or old.revoked_at is not null)
    returning k.id, old.revoked_at is null as "wasLive", old.created_at as "createdAt"`;
  if (!replaced) return { status: 'exists' };
  return replaced.wasLive
    ? { status: 'rotated', keyId: replaced.id, revokedCreatedAt: replaced.createdAt }
    : { status: 'created', keyId: replaced.id };
}

/** Look up an unrevoked key. Touches last_used_at at most once a minute to keep reads cheap. */
export async function findApiKey(sql: Sql, key: string): Promise<ApiKeyIdentity | null> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null;
  const [row] = await sql<ApiKeyIdentity[]>`
    update public.api_keys set last_used_at = now()
    where key_hash = ${hashApiKey(key)} and revoked_at is null
      and (last_used_at is null or last_used_at < now() - interval '1 minute')
    returning id as "keyId", org_id as "tenantId", role`;
  if (row) return row;
  const [existing] = await sql<ApiKeyIdentity[]>`
    select id as "keyId", org_id as "tenantId", role from public.api_keys
    where key_hash = ${hashApiKey(key)} and revoked_at is null`;
  return existing ?? null;
}
