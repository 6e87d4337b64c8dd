-- Mail that arrives by itself (issue 16): an SMTP listener and inbound-parse webhooks.
--
-- inbound_addresses: which tenant a recipient belongs to. A row names either one address
-- (`invoices@acme.example`) or a whole domain (`acme.example`); an address row wins over its domain's.
-- Addresses are stored lower-cased, so lookups are exact matches on an index.
create table if not exists public.inbound_addresses (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  kind text not null check (kind in ('address', 'domain')),
  value text not null check (value = lower(value) and length(value) between 3 and 320),
  created_at timestamptz not null default now(),
  unique (kind, value)
);
create index if not exists inbound_addresses_tenant_idx on public.inbound_addresses (tenant_id);
select private.enable_tenant_rls('public.inbound_addresses');

-- inbound_messages: the ledger of mail a listener has accepted (answered 250 / 200) and staged. It is
-- written in the transaction that stages the bytes, so "accepted" always means "stored"; `started_at` is
-- set once the ingestion run is started. A row accepted but never started (the process died between the
-- commit and the start, or Temporal was down) is started by the recovery sweep.
create table if not exists public.inbound_messages (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  raw_sha256 text not null check (raw_sha256 ~ '^[0-9a-f]{64}$'),
  dedup_key text not null check (dedup_key ~ '^[0-9a-f]{64}$'),
  source text not null check (source in ('smtp', 'mailgun', 'postmark', 'sendgrid')),
  -- Envelope sender, recipients of this tenant, remote address: what the listener saw, for audit.
  envelope jsonb not null default '{}'::jsonb,
  received_at timestamptz not null default now(),
  started_at timestamptz,
  workflow_id text,
  last_error text
);
create index if not exists inbound_messages_pending_idx on public.inbound_messages (received_at)
  where started_at is null;
create index if not exists inbound_messages_tenant_sha_idx on public.inbound_messages (tenant_id, raw_sha256);
create index if not exists inbound_messages_received_at_idx on public.inbound_messages (received_at);
select private.enable_tenant_rls('public.inbound_messages');

-- Mailgun's webhook tokens seen, so a captured request cannot be replayed with another body. Kept a day
-- (far beyond the 2-minute window a timestamp is accepted in), purged as new tokens arrive.
create table if not exists public.inbound_webhook_tokens (
  provider text not null,
  token text not null,
  -- The message the token came with: the same one again is a re-delivery, another one a forgery.
  body_sha256 text not null,
  seen_at timestamptz not null default now(),
  primary key (provider, token)
);
create index if not exists inbound_webhook_tokens_seen_at_idx on public.inbound_webhook_tokens (seen_at);
alter table public.inbound_webhook_tokens enable row level security;
grant all on public.inbound_webhook_tokens to service_role;
