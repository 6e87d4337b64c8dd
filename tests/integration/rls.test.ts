/**
 * Row Level Security on a real Postgres, with Supabase's roles and JWT claims as Supabase sets them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmail } from '../../core/email.js';
import { asCaller } from '../../supabase/caller.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import {
  addMember,
  ensureOrganization,
  generateApiKey,
  registerApiKey,
  type Tenant,
} from '../../supabase/tenants.js';
import { fixtureBytes, testDb, uniqueName } from '../support/harness.js';

describe('RLS: tenants see only their own email', () => {
  let sql: Sql;
  let orgA: Tenant;
  let orgB: Tenant;
  const userA = randomUUID();
  const userB = randomUUID();
  let emailA: string;
  let emailB: string;

  beforeAll(async () => {
    sql = testDb();
    orgA = await ensureOrganization(sql, uniqueName('rls-a'));
    orgB = await ensureOrganization(sql, uniqueName('rls-b'));
    await addMember(sql, orgA.id, userA, 'member');
    await addMember(sql, orgB.id, userB, 'viewer');
    const email = await parseEmail(fixtureBytes('quarterly-report.eml'), { maxEmailBytes: 1_000_000 });
    emailA = (await upsertEmail(sql, orgA.id, email)).emailId;
    emailB = (await upsertEmail(sql, orgB.id, email)).emailId;
  });
  afterAll(() => sql?.end());

  const visibleTo = (claims: Parameters<typeof asCaller>[1]) =>
    asCaller(sql, claims, async (tx) => {
      const rows = await tx`select id from public.emails where id in (${emailA}, ${emailB})`;
      return rows.map((r) => r.id as string);
    });

  it('a member of org A sees A’s email and not B’s', async () => {
    expect(await visibleTo({ role: 'authenticated', sub: userA })).toEqual([emailA]);
    expect(await visibleTo({ role: 'authenticated', sub: userB })).toEqual([emailB]);
  });

  it('members see their own organization and membership rows only', async () => {
    const orgs = await asCaller(
      sql,
      { role: 'authenticated', sub: userA },
      (tx) => tx`select id from public.organizations where id in (${orgA.id}, ${orgB.id})`,
    );
    expect(orgs.map((o) => o.id)).toEqual([orgA.id]);
    const members = await asCaller(
      sql,
      { role: 'authenticated', sub: userB },
      (tx) => tx`select user_id from public.organization_members where org_id in (${orgA.id}, ${orgB.id})`,
    );
    expect(members.map((m) => m.user_id)).toEqual([userB]);
  });

  it('an anonymous caller, or a user of no organization, sees nothing', async () => {
    expect(await visibleTo({ role: 'anon' })).toEqual([]);
    expect(await visibleTo({ role: 'authenticated', sub: randomUUID() })).toEqual([]);
  });

  it('an API key sees its own tenant until it is revoked', async () => {
    const name = uniqueName('key');
    const keyId = await registerApiKey(sql, orgB.id, name, generateApiKey());
    expect(await visibleTo({ role: 'authenticated', sub: keyId })).toEqual([emailB]);
    await sql`update public.api_keys set revoked_at = now() where id = ${keyId}`;
    expect(await visibleTo({ role: 'authenticated', sub: keyId })).toEqual([]);
  });

  it('the search function holds the same wall: a member searches its own tenant, never another', async () => {
    const search = (claims: Parameters<typeof asCaller>[1], tenantId: string) =>
      asCaller(sql, claims, async (tx) => {
        const rows =
          await tx`select email_id from public.search_tenant_emails(${tenantId}, 'quarterly', 10, 0)`;
        return rows.map((r) => r.email_id as string);
      });
    expect(await search({ role: 'authenticated', sub: userA }, orgA.id)).toEqual([emailA]);
    expect(await search({ role: 'authenticated', sub: userA }, orgB.id)).toEqual([]);
    expect(await search({ role: 'authenticated', sub: randomUUID() }, orgA.id)).toEqual([]);
    await expect(search({ role: 'anon' }, orgA.id)).rejects.toThrow(
      /permission denied for function search_tenant_emails/,
    );
  });

  it('callers cannot write, call the service functions or read key hashes', async () => {
    await expect(
      asCaller(
        sql,
        { role: 'authenticated', sub: userA },
        (tx) => tx`update public.emails set subject = 'x'`,
      ),
    ).rejects.toThrow(/permission denied for table emails/);
    await expect(
      asCaller(
        sql,
        { role: 'authenticated', sub: userA },
        (tx) => tx`select * from public.upsert_email(${orgA.id}, '{}')`,
      ),
    ).rejects.toThrow(/permission denied for function upsert_email/);
    await expect(
      asCaller(sql, { role: 'authenticated', sub: userA }, (tx) => tx`select key_hash from public.api_keys`),
    ).rejects.toThrow(/permission denied for table api_keys/);
  });
});
