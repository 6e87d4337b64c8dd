-- Emails.
--
-- staged_content is the claim check every workflow uses: bytes (a raw message, an uploaded mailbox, an
-- inline upload, an attachment) are stored once per tenant under their SHA-256, and workflow histories
-- carry the hash instead: no 2 MB payload limit, and no mail bodies or files stored in Temporal.

create table if not exists public.staged_content (
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  content bytea not null,
  size_bytes bigint not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, sha256)
);
create index if not exists staged_content_created_at_idx on public.staged_content (created_at);

create table if not exists public.emails (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  message_id text,
  dedup_key text not null check (dedup_key ~ '^[0-9a-f]{64}$'),
  key_basis text not null check (key_basis in ('message-id', 'content')),
  thread_id text,
  subject text,
  from_address text,
  from_addresses jsonb not null default '[]'::jsonb,
  reply_to_addresses jsonb not null default '[]'::jsonb,
  to_addresses jsonb not null default '[]'::jsonb,
  cc_addresses jsonb not null default '[]'::jsonb,
  bcc_addresses jsonb not null default '[]'::jsonb,
  sent_at timestamptz,
  -- true when the Date header was missing or unreadable and sent_at fell back to the ingest time
  sent_at_fallback boolean not null default false,
  received_at timestamptz not null default now(),
  in_reply_to text,
  reference_ids text[] not null default '{}',
  -- Keys this email can be joined to a thread by, and the keys it joins others by (core/threading.ts).
  thread_keys text[] not null default '{}',
  thread_match_keys text[] not null default '{}',
  text_body text,
  html_body text,
  headers jsonb not null default '{}'::jsonb,
  size_bytes integer not null,
  raw_sha256 text not null,
  raw_file_id uuid,
  status text not null default 'stored' check (status in ('stored', 'analyzed', 'failed')),
  ai_analysis jsonb,
  analyzed_at timestamptz,
  search tsvector generated always as (
    setweight(to_tsvector('simple', coalesce(subject, '')), 'A')
    || setweight(to_tsvector('simple', coalesce(from_address, '')), 'B')
    || setweight(to_tsvector('simple', left(coalesce(text_body, ''), 100000)), 'C')
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, dedup_key)
);
create index if not exists emails_tenant_sent_at_idx on public.emails (tenant_id, sent_at desc);
create index if not exists emails_tenant_message_id_idx on public.emails (tenant_id, message_id);
create index if not exists emails_created_at_idx on public.emails (created_at);
create index if not exists emails_search_idx on public.emails using gin (search);
create index if not exists emails_thread_keys_idx on public.emails using gin (thread_keys);
create index if not exists emails_thread_match_keys_idx on public.emails using gin (thread_match_keys);
create index if not exists emails_tenant_thread_idx on public.emails (tenant_id, thread_id);

create table if not exists public.ingest_failures (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  sha256 text not null,
  reason text not null,
  detail text,
  created_at timestamptz not null default now(),
  unique (tenant_id, sha256, reason)
);
create index if not exists ingest_failures_created_at_idx on public.ingest_failures (created_at);

select private.enable_tenant_rls('public.emails');
select private.enable_tenant_rls('public.ingest_failures');

-- Staged content is the service's only: RLS with no policy, no grant to the API roles.
alter table public.staged_content enable row level security;
grant all on public.staged_content to service_role;

-- Store one parsed email (the JSON shape of core/email.ts ParsedEmail) in one transaction, keyed on
-- (tenant_id, dedup_key). The first write wins: a re-delivery or a retried activity returns the same row.
--
-- Threads: a new email joins every thread it touches (its match keys meet their keys or the reverse),
-- and all of them are relabelled with the smallest key of the joined set. The result depends only on
-- which emails exist, never on their arrival order, and re-running an upsert changes nothing.
create function public.upsert_email(p_tenant uuid, p_email jsonb)
returns table (email_id uuid, created boolean, thread_id text)
language plpgsql security invoker set search_path = '' as $$
declare
  v_keys text[] := array(select jsonb_array_elements_text(coalesce(p_email -> 'threadKeys', '[]')));
  v_match text[] := array(select jsonb_array_elements_text(coalesce(p_email -> 'threadMatchKeys', '[]')));
  v_id uuid;
  v_created boolean;
  v_thread text;
  v_joined text[];
begin
  -- Two messages of one thread stored at once must not each start a thread: serialise per tenant.
  perform pg_advisory_xact_lock(hashtextextended('durable-inbox:threads:' || p_tenant::text, 0));

  insert into public.emails as e (
    tenant_id, message_id, dedup_key, key_basis, subject, from_address, from_addresses,
    reply_to_addresses, to_addresses, cc_addresses, bcc_addresses, sent_at, sent_at_fallback,
    in_reply_to, reference_ids, text_body, html_body, headers, size_bytes, raw_sha256,
    thread_keys, thread_match_keys
  )
  values (
    p_tenant,
    p_email ->> 'messageId',
    p_email ->> 'dedupKey',
    p_email ->> 'keyBasis',
    p_email ->> 'subject',
    p_email -> 'from' -> 0 ->> 'address',
    coalesce(p_email -> 'from', '[]'::jsonb),
    coalesce(p_email -> 'replyTo', '[]'::jsonb),
    coalesce(p_email -> 'to', '[]'::jsonb),
    coalesce(p_email -> 'cc', '[]'::jsonb),
    coalesce(p_email -> 'bcc', '[]'::jsonb),
    coalesce((p_email ->> 'sentAt')::timestamptz, now()),
    (p_email ->> 'sentAt') is null,
    p_email ->> 'inReplyTo',
    coalesce(array(select jsonb_array_elements_text(p_email -> 'references')), '{}'),
    p_email ->> 'textBody',
    p_email ->> 'htmlBody',
    coalesce(p_email -> 'headers', '{}'::jsonb),
    (p_email ->> 'sizeBytes')::integer,
    p_email ->> 'rawSha256',
    v_keys,
    v_match
  )
  on conflict (tenant_id, dedup_key) do update set updated_at = e.updated_at
  returning e.id, (e.xmax = 0), e.thread_id into v_id, v_created, v_thread;

  if not v_created then
    return query select v_id, false, v_thread;
    return;
  end if;

  select coalesce(array_agg(distinct x.thread_id), '{}') into v_joined
  from public.emails x
  where x.tenant_id = p_tenant and x.id <> v_id and x.thread_id is not null
    and (x.thread_keys && v_match or x.thread_match_keys && v_keys);

  select min(k) into v_thread from unnest(v_keys || v_joined) as k;

  update public.emails x set thread_id = v_thread
  where x.tenant_id = p_tenant
    and (x.id = v_id or x.thread_id = any (v_joined))
    and x.thread_id is distinct from v_thread;

  return query select v_id, true, v_thread;
end
$$;
revoke all on function public.upsert_email(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.upsert_email(uuid, jsonb) to service_role;
