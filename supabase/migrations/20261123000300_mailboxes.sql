-- mbox imports. Uploaded mailboxes are staged in staged_content; path sources are read from the import
-- directory. The ledger has one row per message: its state moves from pending to stored, duplicate or failed in the
-- same transaction that stores the email, so a retried or killed activity never counts a message twice,
-- and the batch report is computed from it.

create table if not exists public.mailbox_messages (
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  mailbox_sha256 text not null,
  seq integer not null check (seq >= 0),
  byte_offset bigint not null,
  raw_sha256 text not null,
  size_bytes integer not null,
  status text not null default 'pending' check (status in ('pending', 'stored', 'duplicate', 'failed')),
  reason text,
  detail text,
  email_id uuid references public.emails (id) on delete set null,
  -- attachments of a stored message, so the batch can upload those not stored yet (after a crash too)
  attachment_count integer not null default 0,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, mailbox_sha256, seq)
);
create index if not exists mailbox_messages_status_idx on public.mailbox_messages (tenant_id, mailbox_sha256, status);
create index if not exists mailbox_messages_email_id_idx on public.mailbox_messages (email_id);

select private.enable_tenant_rls('public.mailbox_messages');
