-- upsert_email at a cost that does not grow with the tenant (issue 15).
--
-- The thread join used to read `tenant_id = $1 and (thread_keys && $2 or thread_match_keys && $3)`:
-- for a tenant with most of the rows the planner walked emails_tenant_thread_idx over every email of the
-- tenant and filtered ("Rows Removed by Filter: 3009"), and the relabelling UPDATE's
-- `id = $1 or thread_id = any('{}')` bitmap-scanned emails_raw_pending_idx. Behind the per-tenant lock
-- that capped one tenant's ingest rate, and at a million emails it would have stopped ingestion.
--
-- Now:
--   - the thread keys are indexed per tenant ('<tenant uuid>/<key>', private.tenant_keys), so the join is
--     two GIN lookups that find exactly this tenant's emails sharing a key, whatever the table holds
--     (another tenant's copy of the same newsletter is not even read);
--   - the join runs before the insert, so the new row is written once with its thread id instead of
--     inserted and then updated (that update was never HOT: it rewrote every index entry of the row,
--     the full-text one included);
--   - other threads are relabelled only when the email really merges them (their ids, by
--     emails_tenant_thread_idx), and a re-delivery is answered from the unique key without a write.
-- The thread a message ends in is the same as before: the smallest key of the connected set.

create or replace function private.tenant_keys(p_tenant uuid, p_keys text[])
returns text[] language sql immutable strict parallel safe set search_path = '' as $$
  select coalesce(array_agg(p_tenant::text || '/' || k), '{}') from unnest(p_keys) as k
$$;

-- fastupdate off: a few keys per email cost little to insert into the tree, while GIN's pending list
-- (up to gin_pending_list_limit, 4 MB) would be read in full by every join until a vacuum flushes it.
create index if not exists emails_tenant_thread_keys_idx
  on public.emails using gin (private.tenant_keys(tenant_id, thread_keys)) with (fastupdate = off);
create index if not exists emails_tenant_thread_match_keys_idx
  on public.emails using gin (private.tenant_keys(tenant_id, thread_match_keys)) with (fastupdate = off);
-- Only the thread join read these, and every insert paid for them.
drop index if exists public.emails_thread_keys_idx;
drop index if exists public.emails_thread_match_keys_idx;

create or replace function public.upsert_email(p_tenant uuid, p_email jsonb)
returns table (email_id uuid, created boolean, thread_id text)
language plpgsql security invoker set search_path = '' as $$
declare
  v_keys text[] := array(select jsonb_array_elements_text(coalesce(p_email -> 'threadKeys', '[]')));
  v_match text[] := array(select jsonb_array_elements_text(coalesce(p_email -> 'threadMatchKeys', '[]')));
  v_id uuid;
  v_thread text;
  v_joined text[];
  v_merged text[];
begin
  -- Two messages of one thread stored at once must not each start a thread: serialise per tenant.
  perform pg_advisory_xact_lock(hashtextextended('durable-inbox:threads:' || p_tenant::text, 0));

  -- The first write wins: a re-delivery or a retried activity gets the same row, and writes nothing.
  select e.id, e.thread_id into v_id, v_thread
  from public.emails e where e.tenant_id = p_tenant and e.dedup_key = p_email ->> 'dedupKey';
  if found then
    return query select v_id, false, v_thread;
    return;
  end if;

  select coalesce(array_agg(distinct x.thread_id), '{}') into v_joined
  from public.emails x
  where (private.tenant_keys(x.tenant_id, x.thread_keys) && private.tenant_keys(p_tenant, v_match)
         or private.tenant_keys(x.tenant_id, x.thread_match_keys) && private.tenant_keys(p_tenant, v_keys))
    and x.thread_id is not null;

  select min(k) into v_thread from unnest(v_keys || v_joined) as k;

  insert into public.emails as e (
    tenant_id, message_id, dedup_key, key_basis, subject, from_address, from_addresses,
    reply_to_addresses, to_addresses, cc_addresses, bcc_addresses, sent_at, sent_at_fallback,
    in_reply_to, reference_ids, text_body, html_body, headers, size_bytes, raw_sha256,
    thread_keys, thread_match_keys, thread_id
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
    v_match,
    v_thread
  )
  on conflict (tenant_id, dedup_key) do nothing
  returning e.id into v_id;

  if v_id is null then
    -- Stored by a writer that does not take the lock: that row wins, as before.
    select e.id, e.thread_id into v_id, v_thread
    from public.emails e where e.tenant_id = p_tenant and e.dedup_key = p_email ->> 'dedupKey';
    return query select v_id, false, v_thread;
    return;
  end if;

  -- The threads this email connects are relabelled only when it merges them (cost: their size).
  v_merged := array_remove(v_joined, v_thread);
  if cardinality(v_merged) > 0 then
    update public.emails x set thread_id = v_thread
    where x.tenant_id = p_tenant and x.thread_id = any (v_merged);
  end if;

  return query select v_id, true, v_thread;
end
$$;
revoke all on function public.upsert_email(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.upsert_email(uuid, jsonb) to service_role;
