-- Fairness between tenants (issue 15): every run a tenant starts carries its tenant id as Temporal's
-- fairness key, with this weight (the tenant's share of dispatch relative to the others; default 1).
-- An operator changes it with SQL; running processes pick it up within 30 s (app/priority.ts):
--   insert into public.tenant_fairness (tenant_id, weight, note) values ('<uuid>', 4, 'paid tier')
--   on conflict (tenant_id) do update set weight = excluded.weight, note = excluded.note, updated_at = now();
create table if not exists public.tenant_fairness (
  tenant_id uuid primary key references public.organizations (id) on delete cascade,
  -- Temporal clamps weights to [0.001, 1000]; refuse what it would silently change.
  weight real not null default 1 check (weight >= 0.001 and weight <= 1000),
  note text,
  updated_at timestamptz not null default now()
);
select private.enable_tenant_rls('public.tenant_fairness');
