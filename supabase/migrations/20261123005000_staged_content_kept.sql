-- Staged bytes that are still the only copy are never purged (issue 14). purge_staged_content used to
-- delete every row past RETENTION_STAGED_CONTENT_DAYS, including the bytes of a raw message whose archive
-- had not happened yet and of attachments or uploads that had failed or were still pending: a retry then
-- had nothing to send. Now a row is kept while:
--   - an email with that raw_sha256 has no raw file yet (raw_file_id is null): 'rawNotArchived';
--   - an attachment with that sha256 is not stored (pending or failed): 'attachmentNotStored';
--   - a file row with that sha256 is not uploaded (pending or failed): 'uploadNotFinished'.
-- The retention report counts what it kept past the cut, per reason (staged_content_kept).

create index if not exists email_attachments_tenant_sha256_idx on public.email_attachments (tenant_id, sha256)
  where status <> 'stored';
create index if not exists files_tenant_sha256_unfinished_idx on public.files (tenant_id, sha256)
  where status <> 'uploaded';
create index if not exists emails_tenant_raw_sha256_pending_idx on public.emails (tenant_id, raw_sha256)
  where raw_file_id is null;

-- Why a staged row is still needed (the first reason that holds), or null when nothing needs it.
create or replace function private.staged_content_needed(p_tenant uuid, p_sha256 text)
returns text language sql stable security invoker set search_path = '' as $$
  select case
    when exists (select 1 from public.emails e
                 where e.tenant_id = p_tenant and e.raw_sha256 = p_sha256 and e.raw_file_id is null)
      then 'rawNotArchived'
    when exists (select 1 from public.email_attachments a
                 where a.tenant_id = p_tenant and a.sha256 = p_sha256 and a.status <> 'stored')
      then 'attachmentNotStored'
    when exists (select 1 from public.files f
                 where f.tenant_id = p_tenant and f.sha256 = p_sha256 and f.status <> 'uploaded')
      then 'uploadNotFinished'
  end
$$;

create or replace function public.purge_staged_content(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.staged_content', 'last_staged_at', p_before, p_limit, p_dry_run, p_tenant,
    $f$private.staged_content_needed(staged_content.tenant_id, staged_content.sha256) is null$f$)
$$;

-- Rows past the cut that the purge keeps, per reason.
create or replace function public.staged_content_kept(p_before timestamptz, p_tenant uuid default null)
returns table (reason text, rows integer) language sql stable security invoker set search_path = '' as $$
  select n.reason, count(*)::integer
  from public.staged_content s
  cross join lateral (select private.staged_content_needed(s.tenant_id, s.sha256) as reason) n
  where s.last_staged_at < p_before and (p_tenant is null or s.tenant_id = p_tenant) and n.reason is not null
  group by n.reason
  order by n.reason
$$;

revoke all on function private.staged_content_needed(uuid, text) from public;
grant execute on function private.staged_content_needed(uuid, text) to service_role;
revoke all on function public.staged_content_kept(timestamptz, uuid) from public, anon, authenticated;
grant execute on function public.staged_content_kept(timestamptz, uuid) to service_role;
revoke all on function public.purge_staged_content(timestamptz, integer, boolean, uuid) from public, anon, authenticated;
grant execute on function public.purge_staged_content(timestamptz, integer, boolean, uuid) to service_role;
