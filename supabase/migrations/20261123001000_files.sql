-- Files: one row per stored object, keyed by content (tenant, bucket, SHA-256) so a second upload of the
-- same bytes finds the first; bucket rules checked before a byte is sent; a queue of deletions for the
-- retention cleanup. Inline uploads are staged in staged_content (see the emails migration).

create table if not exists public.file_bucket_rules (
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  bucket text not null check (bucket ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- null: only the global MAX_UPLOAD_BYTES applies
  size_limit_bytes bigint check (size_limit_bytes is null or size_limit_bytes > 0),
  -- null or empty: any type; entries are exact types or wildcards such as 'image/*'
  allowed_mime_types text[],
  created_at timestamptz not null default now(),
  primary key (tenant_id, bucket)
);

create table if not exists public.files (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  bucket text not null,
  storage_path text not null unique,
  filename text not null,
  size_bytes bigint not null check (size_bytes >= 0),
  declared_mime text,
  detected_mime text,
  -- true when the content's type differs from the declared one (kept, not rejected: the caller decides)
  mime_mismatch boolean not null default false,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  status text not null default 'pending' check (status in ('pending', 'uploaded', 'failed')),
  attempts integer not null default 0,
  error text,
  -- the TUS upload URL of an unfinished resumable upload: a second resume point besides the heartbeat
  upload_url text,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  uploaded_at timestamptz,
  unique (tenant_id, bucket, sha256)
);
create index if not exists files_created_at_idx on public.files (created_at);
create index if not exists files_tenant_status_idx on public.files (tenant_id, status);

create table if not exists public.file_deletion_jobs (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  file_id uuid references public.files (id) on delete set null,
  bucket text not null,
  storage_path text not null,
  reason text not null,
  status text not null default 'queued' check (status in ('queued', 'done', 'failed')),
  attempts integer not null default 0,
  error text,
  not_before timestamptz not null default now(),
  created_at timestamptz not null default now(),
  done_at timestamptz,
  unique (bucket, storage_path)
);
create index if not exists file_deletion_jobs_due_idx on public.file_deletion_jobs (status, not_before);
create index if not exists file_deletion_jobs_file_id_idx on public.file_deletion_jobs (file_id);
create index if not exists file_deletion_jobs_tenant_id_idx on public.file_deletion_jobs (tenant_id);

select private.enable_tenant_rls('public.file_bucket_rules');
select private.enable_tenant_rls('public.files');
select private.enable_tenant_rls('public.file_deletion_jobs');
