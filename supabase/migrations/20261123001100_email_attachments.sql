-- Attachments of stored emails. Each part is keyed by (email_id, part_index); its bytes become a file
-- through the upload workflow. A failed upload marks the attachment, never the email, and a later
-- ingestion of the same message completes it.

create table if not exists public.email_attachments (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  email_id uuid not null references public.emails (id) on delete cascade,
  part_index integer not null check (part_index >= 0),
  filename text not null,
  declared_mime text not null,
  detected_mime text,
  size_bytes bigint not null,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  inline boolean not null default false,
  content_id text,
  status text not null default 'pending' check (status in ('pending', 'stored', 'failed')),
  error text,
  file_id uuid references public.files (id) on delete set null,
  updated_at timestamptz not null default now(),
  unique (email_id, part_index)
);
create index if not exists email_attachments_tenant_idx on public.email_attachments (tenant_id, status);
create index if not exists email_attachments_file_id_idx on public.email_attachments (file_id);

select private.enable_tenant_rls('public.email_attachments');
