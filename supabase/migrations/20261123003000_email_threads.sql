-- Threads. Each email keeps the keys it can be joined by (see core/threading.ts); upsert_email connects
-- a new email to every thread it touches and relabels them all with the smallest key of the joined set.
-- The result depends only on which emails exist, never on their arrival order, and re-running an
-- upsert changes nothing.

alter table public.emails add column if not exists thread_keys text[] not null default '{}';
alter table public.emails add column if not exists thread_match_keys text[] not null default '{}';
create index if not exists emails_thread_keys_idx on public.emails using gin (thread_keys);
create index if not exists emails_thread_match_keys_idx on public.emails using gin (thread_match_keys);
create index if not exists emails_tenant_thread_idx on public.emails (tenant_id, thread_id);

-- The return type changes (thread_id), which `create or replace` cannot do.
drop function if exists public.upsert_email(uuid, jsonb);

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
