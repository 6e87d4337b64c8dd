-- IMAP mailboxes kept in sync by one long-running workflow each (workflows/mailbox-sync.ts).
--
-- imap_mailboxes: the account (never its secret) and what the sync reports: status, last error, last sync.
-- imap_mailbox_credentials: the secret, AES-256-GCM encrypted (core/credentials-cipher.ts); the service
--   connection only (RLS with no policy, no grant to the API roles, like api_keys). Disconnect deletes it.
-- imap_folders: per folder UIDVALIDITY, the highest UID stored by the incremental sync, the backfill
--   cursor of the initial sync (newest first: every window UID at or above it is done) and HIGHESTMODSEQ.
-- imap_messages: the ledger, one row per (folder, UIDVALIDITY, UID), written in the transaction that
--   stores the email and moves the folder's cursor, so a retried batch or a killed worker never stores
--   twice and never skips.
-- emails.flags / emails.deleted_at: what the server says of the stored email (\Seen, \Flagged, \Answered;
--   expunged). An expunge never deletes the email: deleted_at is set once no folder holds it any more.

create table if not exists public.imap_mailboxes (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  host text not null,
  port integer not null check (port between 1 and 65535),
  tls text not null check (tls in ('tls', 'starttls', 'none')),
  username text not null,
  auth text not null check (auth in ('password', 'xoauth2')),
  -- folder names as asked for: ['INBOX'] by default, ['*'] for every folder but Trash and Junk
  folders text[] not null,
  -- how far back the initial sync goes; null: all mail
  since_days integer check (since_days is null or since_days > 0),
  status text not null default 'syncing'
    check (status in ('syncing', 'idle', 'paused', 'needs_attention', 'disconnected')),
  last_error text,
  last_error_at timestamptz,
  last_sync_at timestamptz,
  workflow_id text not null,
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists imap_mailboxes_account_key
  on public.imap_mailboxes (tenant_id, lower(host), port, lower(username));

create table if not exists public.imap_mailbox_credentials (
  mailbox_id uuid primary key references public.imap_mailboxes (id) on delete cascade,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  ciphertext text not null,
  updated_at timestamptz not null default now()
);
create index if not exists imap_mailbox_credentials_tenant_idx on public.imap_mailbox_credentials (tenant_id);

create table if not exists public.imap_folders (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  mailbox_id uuid not null references public.imap_mailboxes (id) on delete cascade,
  name text not null,
  uidvalidity bigint,
  highest_uid bigint not null default 0,
  backfill_cursor bigint not null default 0,
  backfill_total integer not null default 0,
  backfill_done integer not null default 0,
  highest_modseq numeric(20, 0),
  last_error text,
  synced_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (mailbox_id, name)
);
create index if not exists imap_folders_tenant_idx on public.imap_folders (tenant_id);

create table if not exists public.imap_messages (
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  folder_id uuid not null references public.imap_folders (id) on delete cascade,
  uidvalidity bigint not null,
  uid bigint not null,
  -- stored: this message created the email; linked: the email existed (same Message-ID or content key);
  -- failed: refused (too large, unparseable), with ingest_failures saying why
  status text not null check (status in ('stored', 'linked', 'failed')),
  email_id uuid references public.emails (id) on delete set null,
  raw_sha256 text,
  attachment_count integer not null default 0,
  flags text[] not null default '{}',
  reason text,
  expunged_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (folder_id, uidvalidity, uid)
);
create index if not exists imap_messages_email_idx on public.imap_messages (email_id);
create index if not exists imap_messages_tenant_idx on public.imap_messages (tenant_id, created_at);

alter table public.emails add column if not exists flags text[] not null default '{}';
alter table public.emails add column if not exists deleted_at timestamptz;

select private.enable_tenant_rls('public.imap_mailboxes');
select private.enable_tenant_rls('public.imap_folders');
select private.enable_tenant_rls('public.imap_messages');
alter table public.imap_mailbox_credentials enable row level security;
grant all on public.imap_mailbox_credentials to service_role;
