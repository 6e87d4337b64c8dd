-- Retention: raw performance metrics rolled up into hourly and daily percentiles, and every table that
-- grows without bound kept to its policy. The retention workflow (workflows/retention-rollup.ts) calls
-- these functions on a Temporal Schedule; each is idempotent over its window and each purge deletes at
-- most N rows per call, so no statement holds locks for long.
--
-- Times are UTC: hour and day buckets are UTC hours and days, whatever the session's TimeZone.

-- ---- Watermarks ------------------------------------------------------------------------------------
-- performance_hourly:          every hour before this is rolled up
-- performance_daily:           every day before this is rolled up
-- performance_metrics_purged:  raw rows before this may be gone: windows before it are never re-rolled
create table if not exists public.retention_watermarks (
  name text primary key,
  watermark timestamptz not null,
  updated_at timestamptz not null default now()
);
alter table public.retention_watermarks enable row level security;
-- Not sensitive, and performance_report tells its callers how far the rollups reach.
drop policy if exists retention_watermarks_select_authenticated on public.retention_watermarks;
create policy retention_watermarks_select_authenticated on public.retention_watermarks
  for select to authenticated using (true);
grant select on public.retention_watermarks to authenticated;
grant all on public.retention_watermarks to service_role;
-- The purge horizon exists from the start (at -infinity: nothing purged yet), so a rollup can always lock
-- it: a raw purge must wait for rollups in flight, and a rollup for a purge in flight (see below).
insert into public.retention_watermarks (name, watermark) values ('performance_metrics_purged', '-infinity')
on conflict (name) do nothing;

-- Watermarks only move forward: a re-run or a backfill of an older window never moves one back.
create or replace function public.advance_retention_watermark(p_name text, p_at timestamptz)
returns timestamptz language sql security invoker set search_path = '' as $$
  insert into public.retention_watermarks as w (name, watermark) values (p_name, p_at)
  on conflict (name) do update set watermark = greatest(w.watermark, excluded.watermark), updated_at = now()
  returning w.watermark
$$;

-- ---- Rollup tables ---------------------------------------------------------------------------------
-- One row per bucket and group (tenant, tool, model, provider, param_hash). Metrics without a tenant are
-- shared (tenant_id null); the key needs a value for them, so tenant_key maps null to the nil uuid.
-- Percentiles are percentile_cont over the bucket's raw durations: daily rows are computed from raw rows
-- too, never from hourly ones, because percentiles do not re-aggregate.
do $$
declare
  t text;
begin
  foreach t in array array['performance_hourly', 'performance_daily'] loop
    execute format($ddl$
      create table if not exists public.%1$I (
        bucket timestamptz not null,
        tenant_id uuid references public.organizations (id) on delete cascade,
        tenant_key uuid not null generated always as
          (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)) stored,
        tool_name text not null,
        model_name text not null,
        provider text not null,
        param_hash text not null,
        call_count integer not null,
        error_count integer not null,
        avg_ms double precision not null,
        p50_ms double precision not null,
        p95_ms double precision not null,
        p99_ms double precision not null,
        min_ms integer not null,
        max_ms integer not null,
        total_tokens bigint not null,
        rolled_up_at timestamptz not null default now(),
        primary key (bucket, tenant_key, tool_name, model_name, provider, param_hash)
      )$ddl$, t);
    execute format('create index if not exists %I on public.%I (tenant_id, bucket)', t || '_tenant_bucket_idx', t);
    perform private.enable_tenant_rls(('public.' || t)::regclass);
    -- Shared rows (no tenant) are visible to every signed-in caller.
    execute format('drop policy if exists %I on public.%I', t || '_select_shared', t);
    execute format('create policy %I on public.%I for select to authenticated using (tenant_id is null)',
      t || '_select_shared', t);
  end loop;
end
$$;

-- Indexes the purges and the file check need (emails.raw_file_id has one from the raw-messages migration).
create index if not exists emails_tenant_received_at_idx on public.emails (tenant_id, received_at);
create index if not exists mailbox_messages_updated_at_idx on public.mailbox_messages (updated_at);
create index if not exists mailbox_messages_batch_updated_idx
  on public.mailbox_messages (tenant_id, mailbox_sha256, updated_at);
create index if not exists file_deletion_jobs_done_at_idx on public.file_deletion_jobs (done_at)
  where done_at is not null;

-- Staged bytes are a claim check for running workflows: their age is counted from the last time someone
-- staged them (a re-delivery re-stages the same hash), not from the first.
alter table public.staged_content add column if not exists last_staged_at timestamptz not null default now();
create index if not exists staged_content_last_staged_at_idx on public.staged_content (last_staged_at);

-- A deletion the retention cleanup refused (the file is referenced again) ends as 'skipped'.
alter table public.file_deletion_jobs drop constraint if exists file_deletion_jobs_status_check;
alter table public.file_deletion_jobs add constraint file_deletion_jobs_status_check
  check (status in ('queued', 'done', 'failed', 'skipped'));

-- ---- Rollups ---------------------------------------------------------------------------------------
-- Roll raw metrics of [p_from, p_to) into p_grain buckets ('hour' or 'day'). The result is exactly a
-- function of the raw rows: new groups are inserted, changed ones updated, groups with no raw rows left
-- are deleted, and unchanged rows are not touched at all (rolled_up_at stays), so a re-run is a no-op.
-- Refuses windows whose raw rows may already be purged: re-rolling them would overwrite good rows.
create or replace function private.rollup_performance(p_grain text, p_from timestamptz, p_to timestamptz)
returns table (groups integer, changed integer)
language plpgsql security invoker set search_path = '' as $$
declare
  v_table text := case p_grain when 'hour' then 'performance_hourly' when 'day' then 'performance_daily' end;
  v_horizon timestamptz;
begin
  if v_table is null then
    raise exception 'grain must be hour or day, not %', p_grain using errcode = 'invalid_parameter_value';
  end if;
  if p_from is null or p_to is null or p_to <= p_from
     or p_from <> date_trunc(p_grain, p_from, 'UTC') or p_to <> date_trunc(p_grain, p_to, 'UTC') then
    raise exception 'rollup window [%, %) must be whole UTC %s', p_from, p_to, p_grain
      using errcode = 'invalid_parameter_value';
  end if;
  -- FOR SHARE until the caller commits: a raw purge moves this row before it deletes, so it waits for
  -- this rollup, and this rollup waits for a purge in flight and then sees how far it went. Without the
  -- lock a purge could delete part of the window between this check and the aggregation below.
  select w.watermark into v_horizon from public.retention_watermarks w where w.name = 'performance_metrics_purged'
  for share;
  if v_horizon is not null and p_from < v_horizon then
    raise exception 'raw metrics before % are purged: the window from % cannot be rolled up again', v_horizon, p_from
      using errcode = 'object_not_in_prerequisite_state';
  end if;

  return query execute format($q$
    with agg as (
      select date_trunc(%2$L, m.ts, 'UTC') as bucket, m.tenant_id, m.tool_name, m.model_name, m.provider,
             m.param_hash,
             count(*)::integer as call_count,
             (count(*) filter (where not m.success))::integer as error_count,
             -- sum/count in float8, not avg(): the same arithmetic any client would do
             sum(m.duration_ms)::float8 / count(*) as avg_ms,
             percentile_cont(0.5) within group (order by m.duration_ms) as p50_ms,
             percentile_cont(0.95) within group (order by m.duration_ms) as p95_ms,
             percentile_cont(0.99) within group (order by m.duration_ms) as p99_ms,
             min(m.duration_ms) as min_ms,
             max(m.duration_ms) as max_ms,
             sum(m.token_count)::bigint as total_tokens
      from public.performance_metrics m
      where m.ts >= $1 and m.ts < $2
      group by 1, 2, 3, 4, 5, 6
    ),
    upserted as (
      insert into public.%1$I as r (bucket, tenant_id, tool_name, model_name, provider, param_hash,
        call_count, error_count, avg_ms, p50_ms, p95_ms, p99_ms, min_ms, max_ms, total_tokens)
      select bucket, tenant_id, tool_name, model_name, provider, param_hash, call_count, error_count,
             avg_ms, p50_ms, p95_ms, p99_ms, min_ms, max_ms, total_tokens
      from agg
      on conflict (bucket, tenant_key, tool_name, model_name, provider, param_hash) do update set
        call_count = excluded.call_count, error_count = excluded.error_count, avg_ms = excluded.avg_ms,
        p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms,
        min_ms = excluded.min_ms, max_ms = excluded.max_ms, total_tokens = excluded.total_tokens,
        rolled_up_at = now()
      where (r.call_count, r.error_count, r.avg_ms, r.p50_ms, r.p95_ms, r.p99_ms, r.min_ms, r.max_ms,
             r.total_tokens)
        is distinct from (excluded.call_count, excluded.error_count, excluded.avg_ms, excluded.p50_ms,
             excluded.p95_ms, excluded.p99_ms, excluded.min_ms, excluded.max_ms, excluded.total_tokens)
      returning 1
    ),
    removed as (
      delete from public.%1$I r
      where r.bucket >= $1 and r.bucket < $2
        and not exists (
          select 1 from agg a
          where a.bucket = r.bucket
            and coalesce(a.tenant_id, '00000000-0000-0000-0000-000000000000'::uuid) = r.tenant_key
            and a.tool_name = r.tool_name and a.model_name = r.model_name and a.provider = r.provider
            and a.param_hash = r.param_hash)
      returning 1
    )
    select (select count(*) from agg)::integer,
           ((select count(*) from upserted) + (select count(*) from removed))::integer
  $q$, v_table, p_grain) using p_from, p_to;
end
$$;

create or replace function public.rollup_performance_hourly(p_from timestamptz, p_to timestamptz)
returns table (groups integer, changed integer)
language sql security invoker set search_path = '' as $$
  select * from private.rollup_performance('hour', p_from, p_to)
$$;

-- A day's percentiles from that day's raw rows (UTC day).
create or replace function public.rollup_performance_daily(p_day date)
returns table (groups integer, changed integer)
language sql security invoker set search_path = '' as $$
  select * from private.rollup_performance('day', p_day::timestamp at time zone 'UTC',
    (p_day + 1)::timestamp at time zone 'UTC')
$$;

-- ---- Bounded purges --------------------------------------------------------------------------------
-- Delete at most p_limit rows of p_table whose p_column is before p_before (and of one tenant, when
-- given, and matching p_filter, a fixed SQL condition from the wrappers below), and return how many.
-- Rows another purge holds are skipped, not waited for. A dry run counts instead, deleting nothing.
create or replace function private.purge_before(
  p_table regclass, p_column text, p_before timestamptz, p_limit integer, p_dry_run boolean,
  p_tenant uuid default null, p_filter text default 'true'
) returns integer
language plpgsql security invoker set search_path = '' as $$
declare
  v_where text := format('%I < $1 and ($2::uuid is null or tenant_id = $2) and (%s)', p_column, p_filter);
  v_count integer;
begin
  if p_limit is null or p_limit < 1 then
    raise exception 'limit must be at least 1' using errcode = 'invalid_parameter_value';
  end if;
  if p_dry_run then
    execute format('select count(*)::integer from %s where %s', p_table, v_where) into v_count using p_before, p_tenant;
    return v_count;
  end if;
  execute format(
    'delete from %1$s where ctid = any (array(select ctid from %1$s where %2$s order by %3$I limit $3 for update skip locked))',
    p_table, v_where, p_column) using p_before, p_tenant, p_limit;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Raw metrics: never beyond what both rollups cover (a raw row is deleted only once its hour and its day
-- are rolled up), so a purge can never lose data even when rollups lag after downtime. The horizon is
-- recorded before deleting: from then on, windows before it are no longer complete.
create or replace function public.purge_performance_metrics(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false
) returns integer
language plpgsql security invoker set search_path = '' as $$
declare
  v_hourly timestamptz;
  v_daily timestamptz;
  v_cut timestamptz;
begin
  if p_dry_run then
    -- The caller passes the cut the run would reach after its rollups.
    return private.purge_before('public.performance_metrics', 'ts', p_before, p_limit, true);
  end if;
  select w.watermark into v_hourly from public.retention_watermarks w where w.name = 'performance_hourly';
  select w.watermark into v_daily from public.retention_watermarks w where w.name = 'performance_daily';
  if v_hourly is null or v_daily is null then
    return 0;
  end if;
  v_cut := least(p_before, v_hourly, v_daily);
  if not exists (select 1 from public.performance_metrics m where m.ts < v_cut) then
    return 0;
  end if;
  perform public.advance_retention_watermark('performance_metrics_purged', v_cut);
  return private.purge_before('public.performance_metrics', 'ts', v_cut, p_limit, false);
end
$$;

create or replace function public.purge_performance_hourly(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.performance_hourly', 'bucket', p_before, p_limit, p_dry_run)
$$;

create or replace function public.purge_performance_daily(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.performance_daily', 'bucket', p_before, p_limit, p_dry_run)
$$;

create or replace function public.purge_ingest_failures(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.ingest_failures', 'created_at', p_before, p_limit, p_dry_run, p_tenant)
$$;

-- Staged bytes nobody has staged since p_before: the workflows that needed them finished long ago.
create or replace function public.purge_staged_content(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.staged_content', 'last_staged_at', p_before, p_limit, p_dry_run, p_tenant)
$$;

-- Ledger rows of finished mbox imports (no message pending) whose last change is before p_before. A
-- batch with a pending message may still be resumed, so it is kept whole.
create or replace function public.purge_mailbox_ledger(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.mailbox_messages', 'updated_at', p_before, p_limit, p_dry_run, p_tenant,
    $f$status <> 'pending' and not exists (
         select 1 from public.mailbox_messages b
         where b.tenant_id = mailbox_messages.tenant_id and b.mailbox_sha256 = mailbox_messages.mailbox_sha256
           and (b.status = 'pending' or b.updated_at >= $1))$f$)
$$;

-- Finished deletion jobs (done or skipped) are kept a while as a record, then dropped.
create or replace function public.purge_file_deletion_jobs(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language sql security invoker set search_path = '' as $$
  select private.purge_before('public.file_deletion_jobs', 'done_at', p_before, p_limit, p_dry_run, p_tenant,
    $f$status in ('done', 'skipped')$f$)
$$;

-- ---- Who still needs a file ------------------------------------------------------------------------
-- Files are content-addressed and shared, so a file goes only when nothing needs it any more: no
-- attachment row, no email's raw message, and no user who uploaded the same bytes themselves through
-- upload_file (user_files, written before their upload starts). Without that last wall, the retention of
-- an email whose attachment happens to equal a user's own upload would delete the user's file.
create table if not exists public.user_files (
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  bucket text not null,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  filename text not null,
  uploaded_by text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, bucket, sha256)
);
select private.enable_tenant_rls('public.user_files');

create or replace function private.file_in_use(p_file uuid, p_ignoring_emails uuid[] default '{}')
returns boolean language sql stable security invoker set search_path = '' as $$
  select exists (
           select 1 from public.files f join public.user_files u
             on u.tenant_id = f.tenant_id and u.bucket = f.bucket and u.sha256 = f.sha256
           where f.id = p_file)
      or exists (select 1 from public.email_attachments a
                 where a.file_id = p_file and a.email_id <> all (coalesce(p_ignoring_emails, '{}')))
      or exists (select 1 from public.emails e
                 where e.raw_file_id = p_file and e.id <> all (coalesce(p_ignoring_emails, '{}')));
$$;
revoke all on function private.file_in_use(uuid, uuid[]) from public;
grant execute on function private.file_in_use(uuid, uuid[]) to service_role;

-- ---- Email retention -------------------------------------------------------------------------------
-- Delete up to p_limit emails of one tenant stored before p_before (received_at: when this system got
-- them, not the Date header a sender controls), their attachment rows, and queue the files nothing needs
-- any more (private.file_in_use) in file_deletion_jobs. One transaction per call.
create or replace function public.purge_tenant_emails(
  p_tenant uuid, p_before timestamptz, p_limit integer, p_dry_run boolean default false
) returns table (emails integer, attachments integer, files_queued integer)
language plpgsql security invoker set search_path = '' as $$
declare
  v_ids uuid[];
  v_files uuid[];
  v_emails integer;
  v_attachments integer;
  v_queued integer;
begin
  if p_limit is null or p_limit < 1 then
    raise exception 'limit must be at least 1' using errcode = 'invalid_parameter_value';
  end if;
  if p_dry_run then
    return query
      with doomed as (
        select e.id, e.raw_file_id from public.emails e where e.tenant_id = p_tenant and e.received_at < p_before
      ),
      doomed_files as (
        select a.file_id as id from public.email_attachments a join doomed d on d.id = a.email_id
        where a.file_id is not null
        union
        select d.raw_file_id from doomed d where d.raw_file_id is not null
      )
      select (select count(*) from doomed)::integer,
             (select count(*) from public.email_attachments a join doomed d on d.id = a.email_id)::integer,
             (select count(*) from doomed_files f
              where not private.file_in_use(f.id, (select array_agg(id) from doomed)))::integer;
    return;
  end if;

  select array_agg(s.id) into v_ids from (
    select e.id from public.emails e
    where e.tenant_id = p_tenant and e.received_at < p_before
    order by e.received_at
    limit p_limit
    for update skip locked
  ) s;
  if v_ids is null then
    return query select 0, 0, 0;
    return;
  end if;

  select array_agg(distinct f.id) into v_files from (
    select a.file_id as id from public.email_attachments a where a.email_id = any (v_ids) and a.file_id is not null
    union
    select e.raw_file_id from public.emails e where e.id = any (v_ids) and e.raw_file_id is not null
  ) f;

  delete from public.email_attachments a where a.email_id = any (v_ids);
  get diagnostics v_attachments = row_count;
  delete from public.emails e where e.id = any (v_ids);
  get diagnostics v_emails = row_count;

  insert into public.file_deletion_jobs as j (tenant_id, file_id, bucket, storage_path, reason)
  select f.tenant_id, f.id, f.bucket, f.storage_path, 'email-retention'
  from public.files f
  where f.id = any (coalesce(v_files, '{}')) and f.tenant_id = p_tenant and not private.file_in_use(f.id)
  on conflict (bucket, storage_path) do update set
    status = 'queued', file_id = excluded.file_id, reason = excluded.reason, attempts = 0, error = null,
    not_before = now(), done_at = null
  where j.status <> 'queued';
  get diagnostics v_queued = row_count;

  return query select v_emails, v_attachments, v_queued;
end
$$;

-- ---- File deletion queue ---------------------------------------------------------------------------
-- Step one of deleting a queued object, inside the caller's transaction: lock the job and the file row
-- at that path (which blocks a concurrent upload claiming the same bytes), and decide:
--   'delete'   nothing references the file: the caller deletes the object, then calls finish;
--   'skip'     something needs it again (private.file_in_use): the job ends as skipped, the object stays;
--   'postpone' the row was claimed (uploaded or deduplicated) within p_grace: whoever claimed it may be
--              about to link it, so the job waits until the grace has passed;
--   'gone'     the job is no longer queued (another worker took it).
create or replace function public.begin_file_deletion(p_job bigint, p_grace interval)
returns table (action text, bucket text, storage_path text)
language plpgsql security invoker set search_path = '' as $$
declare
  v_job public.file_deletion_jobs;
  v_file public.files;
begin
  select * into v_job from public.file_deletion_jobs j where j.id = p_job and j.status = 'queued'
  for update skip locked;
  if not found then
    return query select 'gone'::text, null::text, null::text;
    return;
  end if;
  select * into v_file from public.files f where f.bucket = v_job.bucket and f.storage_path = v_job.storage_path
  for update;
  if found then
    if private.file_in_use(v_file.id) then
      update public.file_deletion_jobs set status = 'skipped', error = 'the file is referenced again',
        done_at = now() where id = p_job;
      return query select 'skip'::text, v_job.bucket, v_job.storage_path;
      return;
    end if;
    if v_file.updated_at > now() - p_grace then
      update public.file_deletion_jobs set not_before = v_file.updated_at + p_grace where id = p_job;
      return query select 'postpone'::text, v_job.bucket, v_job.storage_path;
      return;
    end if;
  end if;
  return query select 'delete'::text, v_job.bucket, v_job.storage_path;
end
$$;

-- Step two, in the same transaction, after the object is gone: drop the file row and close the job.
create or replace function public.finish_file_deletion(p_job bigint)
returns void language plpgsql security invoker set search_path = '' as $$
declare
  v_job public.file_deletion_jobs;
begin
  select * into v_job from public.file_deletion_jobs j where j.id = p_job;
  delete from public.files f where f.bucket = v_job.bucket and f.storage_path = v_job.storage_path;
  update public.file_deletion_jobs set status = 'done', error = null, done_at = now() where id = p_job;
end
$$;

-- A failed attempt: back off (1, 2, 4 … minutes, at most an hour); after p_max_attempts, or when
-- retrying cannot help, the job ends as failed with the reason.
create or replace function public.fail_file_deletion(
  p_job bigint, p_error text, p_retryable boolean, p_max_attempts integer default 5
) returns text language sql security invoker set search_path = '' as $$
  update public.file_deletion_jobs set
    attempts = attempts + 1,
    error = left(p_error, 1000),
    status = case when p_retryable and attempts + 1 < p_max_attempts then 'queued' else 'failed' end,
    not_before = now() + least(interval '1 hour', interval '1 minute' * power(2, attempts)),
    done_at = case when p_retryable and attempts + 1 < p_max_attempts then null else now() end
  where id = p_job
  returning status
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.advance_retention_watermark(text, timestamptz)',
    'public.rollup_performance_hourly(timestamptz, timestamptz)',
    'public.rollup_performance_daily(date)',
    'public.purge_performance_metrics(timestamptz, integer, boolean)',
    'public.purge_performance_hourly(timestamptz, integer, boolean)',
    'public.purge_performance_daily(timestamptz, integer, boolean)',
    'public.purge_ingest_failures(timestamptz, integer, boolean, uuid)',
    'public.purge_staged_content(timestamptz, integer, boolean, uuid)',
    'public.purge_mailbox_ledger(timestamptz, integer, boolean, uuid)',
    'public.purge_file_deletion_jobs(timestamptz, integer, boolean, uuid)',
    'public.purge_tenant_emails(uuid, timestamptz, integer, boolean)',
    'public.begin_file_deletion(bigint, interval)',
    'public.finish_file_deletion(bigint)',
    'public.fail_file_deletion(bigint, text, boolean, integer)'
  ] loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
  revoke all on function private.rollup_performance(text, timestamptz, timestamptz) from public;
  revoke all on function private.purge_before(regclass, text, timestamptz, integer, boolean, uuid, text) from public;
end
$$;
