-- Outgoing webhooks (app/webhooks.ts, workflows/webhook-delivery.ts): endpoints per tenant, one delivery
-- per (endpoint, event) and every attempt of it.
--
-- webhook_endpoints: what the endpoint hears (event types; Slack's priority/category filter), its state
--   (active, needs_attention, disabled) and its cursor in the outbox, (cursor_txid, cursor_id) in the
--   (txid, id) order of public.events: the delivery workflow moves it in the transaction that writes
--   the deliveries of the events it passed; it hears of events committed after its creation only. `url_shown` is the URL with its path tail or query masked:
--   a Slack incoming-webhook URL is itself a credential.
-- webhook_endpoint_secrets: the URL and the signing secret(s), AES-256-GCM encrypted
--   (core/credentials-cipher.ts, key MAILBOX_CREDENTIALS_KEY); service connection only, like
--   imap_mailbox_credentials.
-- webhook_deliveries: natural key (endpoint_id, event_id); status pending → delivered, or failed when
--   the endpoint was paused (needs_attention) or disabled because of it (resume tries it again).
-- webhook_attempts: one row per request sent, keyed by the workflow's attempt key so a retried activity
--   never logs (or sends) one attempt twice.

create table if not exists public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  kind text not null check (kind in ('standard', 'slack')),
  url_shown text not null check (length(url_shown) <= 2100),
  description text not null default '' check (length(description) <= 500),
  event_types text[] not null check (cardinality(event_types) between 1 and 50),
  min_priority numeric,
  categories text[],
  status text not null default 'active' check (status in ('active', 'needs_attention', 'disabled')),
  status_reason text,
  status_changed_at timestamptz,
  cursor_txid xid8 not null,
  cursor_id bigint not null default 0,
  -- The snapshot at creation: events of transactions it saw as committed are older than the endpoint
  -- and are not delivered, though their txid may be past the cursor (an older transaction was running).
  start_snapshot pg_snapshot not null default pg_current_snapshot(),
  workflow_id text not null,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists webhook_endpoints_tenant_idx on public.webhook_endpoints (tenant_id, created_at);

create table if not exists public.webhook_endpoint_secrets (
  endpoint_id uuid primary key references public.webhook_endpoints (id) on delete cascade,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  ciphertext text not null,
  updated_at timestamptz not null default now()
);
create index if not exists webhook_endpoint_secrets_tenant_idx on public.webhook_endpoint_secrets (tenant_id);

create table if not exists public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  endpoint_id uuid not null references public.webhook_endpoints (id) on delete cascade,
  event_id bigint not null references public.events (id) on delete cascade,
  event_txid xid8 not null,
  event_type text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  last_status_code integer,
  last_error text,
  last_attempt_at timestamptz,
  next_attempt_at timestamptz,
  delivered_at timestamptz,
  replays integer not null default 0,
  created_at timestamptz not null default now(),
  unique (endpoint_id, event_id)
);
create index if not exists webhook_deliveries_queue_idx
  on public.webhook_deliveries (endpoint_id, event_txid, event_id) where status <> 'delivered';
create index if not exists webhook_deliveries_list_idx
  on public.webhook_deliveries (endpoint_id, event_txid desc, event_id desc);
create index if not exists webhook_deliveries_tenant_idx on public.webhook_deliveries (tenant_id);
create index if not exists webhook_deliveries_event_idx on public.webhook_deliveries (event_id);

create table if not exists public.webhook_attempts (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  delivery_id uuid not null references public.webhook_deliveries (id) on delete cascade,
  attempt_key text not null unique,
  started_at timestamptz not null,
  duration_ms integer not null,
  status_code integer,
  error text,
  response text,
  outcome text not null check (outcome in ('delivered', 'retry', 'needs_attention', 'disabled'))
);
create index if not exists webhook_attempts_delivery_idx on public.webhook_attempts (delivery_id, id);
create index if not exists webhook_attempts_tenant_idx on public.webhook_attempts (tenant_id);

select private.enable_tenant_rls('public.webhook_endpoints');
select private.enable_tenant_rls('public.webhook_deliveries');
select private.enable_tenant_rls('public.webhook_attempts');
alter table public.webhook_endpoint_secrets enable row level security;
grant all on public.webhook_endpoint_secrets to service_role;
