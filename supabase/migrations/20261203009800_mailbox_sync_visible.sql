-- IMAP sync, finished (issue 16): what the sync knows of a stored email becomes visible and searchable,
-- a lost analysis start can be caught up, and retention covers the inbound ledger and webhook tokens.
--
-- imap_messages.analysis_started_at: when the analysis of the email this row stored was started (or
--   found off or already done). A row stored but never started (a crash or a failed plan between the
--   commit and the start) is what the mailbox-sync workflow catches up when it starts. Rows stored before
--   this migration had theirs started with their pass: they count as started.
-- imap_folders.change_tracking: how the last pass read the server's changes: `qresync` (flags by
--   CHANGEDSINCE, expunges from VANISHED (EARLIER)), `condstore` (flags by CHANGEDSINCE, expunges by
--   comparing the full UID list) or `full` (every flag and UID).
-- search_tenant_emails(…, flags, include_deleted): the search, filtered by IMAP flags and, unless asked,
--   without emails expunged on the server (deleted_at), returning both.
-- purge_inbound_messages / purge_inbound_webhook_tokens: bounded purges for the retention workflow.

alter table public.imap_messages add column if not exists analysis_started_at timestamptz;
update public.imap_messages set analysis_started_at = created_at
  where status = 'stored' and analysis_started_at is null;
create index if not exists imap_messages_analysis_pending_idx on public.imap_messages (folder_id)
  where status = 'stored' and analysis_started_at is null;

alter table public.imap_folders add column if not exists change_tracking text
  check (change_tracking in ('qresync', 'condstore', 'full'));

-- p_with: flags every result has; p_without: flags no result has (e.g. '{\Seen}' for unseen mail).
create or replace function public.search_tenant_emails(
  p_tenant uuid, p_query text, p_limit integer, p_offset integer,
  p_with text[], p_without text[], p_include_deleted boolean
) returns table (
  email_id uuid, subject text, from_address text, sent_at timestamptz, thread_id text, rank real,
  snippet text, flags text[], deleted_at timestamptz, total bigint
)
language plpgsql stable security definer set search_path = '' as $$
begin
  if not private.is_tenant_member(p_tenant) then
    return;
  end if;
  return query
    with q as (select websearch_to_tsquery('simple', p_query) as q)
    select e.id, e.subject, e.from_address, e.sent_at, e.thread_id, ts_rank_cd(e.search, q.q),
           ts_headline('simple', left(coalesce(e.text_body, ''), 20000), q.q,
                       'MaxFragments=2, MinWords=5, MaxWords=20, StartSel=**, StopSel=**'),
           e.flags, e.deleted_at,
           count(*) over ()
    from public.emails e, q
    where e.tenant_id = p_tenant and e.search @@ q.q
      and e.flags @> coalesce(p_with, '{}') and not (e.flags && coalesce(p_without, '{}'))
      and (p_include_deleted or e.deleted_at is null)
    order by 6 desc, e.sent_at desc, e.id
    limit p_limit offset p_offset;
end
$$;
revoke all on function public.search_tenant_emails(uuid, text, integer, integer, text[], text[], boolean)
  from public, anon;
grant execute on function public.search_tenant_emails(uuid, text, integer, integer, text[], text[], boolean)
  to authenticated, service_role;

-- Accepted inbound mail whose run started before p_before: the run has the message now. A row whose run
-- never started is the recovery sweep's, kept whatever its age.
create or replace function public.purge_inbound_messages(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.inbound_messages', 'started_at', p_before, p_limit, p_dry_run, p_tenant,
    'started_at is not null')
$$;

-- Webhook tokens (no tenant: the provider's) seen before p_before. A token needs keeping only while its
-- timestamp is accepted (2 minutes); the window is kept far longer.
create or replace function public.purge_inbound_webhook_tokens(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false
) returns integer language plpgsql security invoker set search_path = '' as $$
declare
  v_count integer;
begin
  if p_limit is null or p_limit < 1 then
    raise exception 'limit must be at least 1' using errcode = 'invalid_parameter_value';
  end if;
  if p_dry_run then
    select count(*)::integer into v_count from public.inbound_webhook_tokens where seen_at < p_before;
    return v_count;
  end if;
  with gone as (
    delete from public.inbound_webhook_tokens t where t.ctid = any (array(
      select x.ctid from public.inbound_webhook_tokens x where x.seen_at < p_before
      order by x.seen_at limit p_limit for update skip locked))
    returning 1)
  select count(*)::integer into v_count from gone;
  return v_count;
end
$$;
revoke all on function public.purge_inbound_messages(timestamptz, integer, boolean, uuid) from public, anon, authenticated;
revoke all on function public.purge_inbound_webhook_tokens(timestamptz, integer, boolean) from public, anon, authenticated;
grant execute on function public.purge_inbound_messages(timestamptz, integer, boolean, uuid) to service_role;
grant execute on function public.purge_inbound_webhook_tokens(timestamptz, integer, boolean) to service_role;

-- Events a run records once at its end (mailbox.imported, retention.completed): found again by subject
-- and run when a retried activity records it a second time.
create index if not exists events_subject_idx on public.events (tenant_id, type, subject_id);
