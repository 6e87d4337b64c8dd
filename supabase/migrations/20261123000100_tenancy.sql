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

alter table public.organizations enable row level security;
alter table public.organization_members enable row level security;
alter table public.api_keys enable row level security;
alter table public.audit_log enable row level security;

drop policy if exists organizations_select_member on public.organizations;
create policy organizations_select_member on public.organizations
  for select to authenticated using ((select private.is_tenant_member(id)));

drop policy if exists organization_members_select_self on public.organization_members;
create policy organization_members_select_self on public.organization_members
  for select to authenticated using ((select private.is_tenant_member(org_id)));

drop policy if exists audit_log_select_member on public.audit_log;
create policy audit_log_select_member on public.audit_log
  for select to authenticated using ((select private.is_tenant_member(tenant_id)));

-- api_keys: no policy for anon/authenticated, so only the service connection sees key hashes.

-- As on Supabase, the API roles hold table privileges and RLS decides which rows they see.
grant select on public.organizations, public.organization_members, public.audit_log to anon, authenticated;
grant all on public.organizations, public.organization_members, public.api_keys, public.audit_log
  to service_role;
