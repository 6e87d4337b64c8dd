-- Tenancy: every row belongs to an organization. Members reach their organization's rows through RLS;
-- API keys are tenant-scoped identities whose id is the `sub` of the claims the server sets for them.

create table if not exists public.organizations (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null,
  email_retention_days integer check (email_retention_days is null or email_retention_days > 0),
  created_at timestamptz not null default now()
);

create table if not exists public.organization_members (
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null,
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
create index if not exists organization_members_user_id_idx on public.organization_members (user_id);

create table if not exists public.api_keys (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null,
  -- SHA-256 of the key; the key itself is shown once and never stored.
  key_hash text not null unique,
  role text not null default 'member' check (role in ('admin', 'member', 'viewer')),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  unique (org_id, name)
);
create index if not exists api_keys_org_id_idx on public.api_keys (org_id);

create table if not exists public.audit_log (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  actor text not null,
  action text not null,
  subject_type text not null,
  subject_id text,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null default now()
);
create index if not exists audit_log_tenant_at_idx on public.audit_log (tenant_id, at);

-- Is the caller (auth.uid(): a Supabase user or one of our API keys) in this tenant? SECURITY DEFINER
-- so policies on other tables can call it without recursing into the policies of these tables.
create or replace function private.is_tenant_member(p_tenant uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
      select 1 from public.organization_members m
      where m.org_id = p_tenant and m.user_id = (select auth.uid())
    )
    or exists (
      select 1 from public.api_keys k
      where k.org_id = p_tenant and k.id = (select auth.uid()) and k.revoked_at is null
    )
$$;
revoke all on function private.is_tenant_member(uuid) from public;
grant execute on function private.is_tenant_member(uuid) to authenticated, service_role;

-- Every tenant table gets the same wall: RLS on, members (and the tenant's API keys) may select their
-- tenant's rows, the API roles hold SELECT as on Supabase, the service role holds everything.
create or replace function private.enable_tenant_rls(p_table regclass, p_tenant_column text default 'tenant_id')
returns void language plpgsql as $$
declare
  policy text := replace(p_table::text, 'public.', '') || '_select_member';
begin
  execute format('alter table %s enable row level security', p_table);
  execute format('drop policy if exists %I on %s', policy, p_table);
  execute format(
    'create policy %I on %s for select to authenticated using ((select private.is_tenant_member(%I)))',
    policy, p_table, p_tenant_column
  );
  execute format('grant select on %s to anon, authenticated', p_table);
  execute format('grant all on %s to service_role', p_table);
end
$$;
revoke all on function private.enable_tenant_rls(regclass, text) from public;

select private.enable_tenant_rls('public.organizations', 'id');
select private.enable_tenant_rls('public.organization_members', 'org_id');
select private.enable_tenant_rls('public.audit_log');

-- api_keys: RLS with no policy, and no grant to the API roles: only the service connection sees hashes.
alter table public.api_keys enable row level security;
grant all on public.api_keys to service_role;
