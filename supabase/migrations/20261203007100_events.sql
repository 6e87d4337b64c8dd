-- The outbox: every change others should hear of writes one row to `events` in the transaction that
-- makes the change (AFTER triggers on the tables below, so no writing function needs to know), and
-- `pg_notify('durable_inbox_events', <tenant>)` wakes the sinks when that transaction commits.
--
-- Order: `txid` is the writing transaction's id. A reader takes events in (txid, id) order and only of
-- transactions older than every transaction still running (pg_snapshot_xmin), so an event committed
-- late by a long transaction is never skipped, which reading by id alone would do. Sinks remember the
-- last (txid, id) they handled and catch up from there: a missed notification or a restart loses nothing.
--
-- Payloads are small and never carry bodies: ids, subject line, sender, category, priority, summary.

create table if not exists public.events (
  id bigint generated always as identity primary key,
  txid xid8 not null default pg_current_xact_id(),
  tenant_id uuid not null references public.organizations (id) on delete cascade,
  type text not null check (type ~ '^[a-z_]+\.[a-z_]+$'),
  subject_id text not null,
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index if not exists events_order_idx on public.events (txid, id);
create index if not exists events_tenant_idx on public.events (tenant_id, id);
create index if not exists events_created_at_idx on public.events (created_at);
select private.enable_tenant_rls('public.events');

create or replace function private.emit_event(p_tenant uuid, p_type text, p_subject text, p_payload jsonb)
returns void language plpgsql security definer set search_path = '' as $$
begin
  if p_tenant is null then
    return;
  end if;
  insert into public.events (tenant_id, type, subject_id, payload)
  values (p_tenant, p_type, p_subject, jsonb_strip_nulls(p_payload));
  -- Delivered at commit, once per distinct payload per transaction: a batch of 100 emails wakes the
  -- sinks once, and they read all 100.
  perform pg_notify('durable_inbox_events', p_tenant::text);
end
$$;
revoke all on function private.emit_event(uuid, text, text, jsonb) from public;

-- For events that no table change carries (a finished import, a finished retention run): activities call
-- this, in the transaction of whatever they write, or alone.
create or replace function public.record_event(p_tenant uuid, p_type text, p_subject text, p_payload jsonb)
returns void language sql security invoker set search_path = '' as $$
  select private.emit_event(p_tenant, p_type, p_subject, p_payload)
$$;
revoke all on function public.record_event(uuid, text, text, jsonb) from public, anon, authenticated;
grant execute on function public.record_event(uuid, text, text, jsonb) to service_role;

-- ---- emails: received, analyzed --------------------------------------------------------------------
create or replace function private.email_event_payload(e public.emails) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_object('emailId', e.id, 'threadId', e.thread_id, 'messageId', left(e.message_id, 300),
    'subject', left(e.subject, 300), 'from', left(e.from_address, 300), 'status', e.status)
$$;

create or replace function private.emails_events() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    perform private.emit_event(new.tenant_id, 'email.received', new.id::text, private.email_event_payload(new));
  elsif new.ai_analysis is not null and new.ai_analysis is distinct from old.ai_analysis then
    perform private.emit_event(new.tenant_id, 'email.analyzed', new.id::text,
      private.email_event_payload(new) || jsonb_build_object(
        'category', new.ai_analysis ->> 'category',
        'priority', case when jsonb_typeof(new.ai_analysis -> 'priority') = 'number'
                         then (new.ai_analysis ->> 'priority')::numeric end,
        'summary', left(new.ai_analysis ->> 'summary', 500)));
  end if;
  return null;
end
$$;
drop trigger if exists emails_events on public.emails;
create trigger emails_events after insert or update of ai_analysis on public.emails
  for each row execute function private.emails_events();

-- ---- attachments: failed ---------------------------------------------------------------------------
create or replace function private.attachments_events() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.status = 'failed' and (tg_op = 'INSERT' or old.status is distinct from 'failed') then
    perform private.emit_event(new.tenant_id, 'attachment.failed', new.id::text, jsonb_build_object(
      'attachmentId', new.id, 'emailId', new.email_id, 'partIndex', new.part_index,
      'filename', left(new.filename, 300), 'error', left(new.error, 300)));
  end if;
  return null;
end
$$;
drop trigger if exists email_attachments_events on public.email_attachments;
create trigger email_attachments_events after insert or update of status on public.email_attachments
  for each row execute function private.attachments_events();

-- ---- files: upload completed or failed -------------------------------------------------------------
create or replace function private.files_events() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.status in ('uploaded', 'failed') and (tg_op = 'INSERT' or old.status is distinct from new.status) then
    perform private.emit_event(new.tenant_id,
      case new.status when 'uploaded' then 'upload.completed' else 'upload.failed' end,
      new.id::text, jsonb_build_object('fileId', new.id, 'bucket', new.bucket,
        'filename', left(new.filename, 300), 'sizeBytes', new.size_bytes, 'sha256', new.sha256,
        'error', left(new.error, 300)));
  end if;
  return null;
end
$$;
drop trigger if exists files_events on public.files;
create trigger files_events after insert or update of status on public.files
  for each row execute function private.files_events();

-- ---- prompt rollouts: stage changed, completed, rolled back (told to the tenant that started it) ---
create or replace function private.rollouts_events() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_payload jsonb := jsonb_build_object('rolloutId', new.id, 'toolName', new.tool_name,
    'provider', new.provider, 'stage', new.stage, 'trafficPercent', new.traffic_percent,
    'status', new.status, 'workflowId', new.workflow_id, 'reason', left(new.reason, 300));
begin
  if new.status is distinct from old.status and new.status in ('completed', 'rolled_back') then
    perform private.emit_event(new.tenant_id, 'rollout.' || new.status, new.id::text, v_payload);
  elsif new.status in ('running', 'paused')
        and (new.stage, new.traffic_percent) is distinct from (old.stage, old.traffic_percent) then
    perform private.emit_event(new.tenant_id, 'rollout.stage_changed', new.id::text, v_payload);
  end if;
  return null;
end
$$;
drop trigger if exists prompt_rollouts_events on public.prompt_rollouts;
create trigger prompt_rollouts_events after update on public.prompt_rollouts
  for each row execute function private.rollouts_events();

-- ---- ingest failures: a run that could not store its message ---------------------------------------
create or replace function private.ingest_failures_events() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform private.emit_event(new.tenant_id, 'run.failed', new.sha256, jsonb_build_object(
    'sha256', new.sha256, 'reason', new.reason, 'detail', left(new.detail, 300)));
  return null;
end
$$;
drop trigger if exists ingest_failures_events on public.ingest_failures;
create trigger ingest_failures_events after insert on public.ingest_failures
  for each row execute function private.ingest_failures_events();

-- ---- Supabase Realtime: every event is broadcast on the tenant's private channel --------------------
-- Broadcast from the database (Supabase's recommended way, rather than postgres_changes): the row goes
-- to realtime.messages in the same transaction, topic `tenant:<tenant id>`, event = the event type.
create or replace function private.events_broadcast() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.send(
    jsonb_build_object('id', new.id, 'type', new.type, 'tenantId', new.tenant_id,
      'subjectId', new.subject_id, 'payload', new.payload, 'createdAt', new.created_at),
    new.type, 'tenant:' || new.tenant_id::text, true);
  return null;
end
$$;
drop trigger if exists events_broadcast on public.events;
create trigger events_broadcast after insert on public.events
  for each row execute function private.events_broadcast();

-- The tenant a Realtime topic names (`tenant:<uuid>`), or null for any other topic.
create or replace function private.tenant_of_topic(p_topic text) returns uuid
language sql immutable set search_path = '' as $$
  select case when p_topic ~ '^tenant:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then substr(p_topic, 8)::uuid end
$$;
grant execute on function private.tenant_of_topic(text) to authenticated, service_role;

-- Who may join a private `tenant:<id>` channel and receive its broadcasts: members of that tenant only
-- (Realtime checks by selecting from realtime.messages as the user with realtime.topic() set).
alter table realtime.messages enable row level security;
drop policy if exists tenant_members_receive_broadcasts on realtime.messages;
create policy tenant_members_receive_broadcasts on realtime.messages for select to authenticated using (
  realtime.messages.extension = 'broadcast'
  and realtime.messages.topic = coalesce((select realtime.topic()), realtime.messages.topic)
  and (select private.is_tenant_member(private.tenant_of_topic(realtime.messages.topic)))
);

-- ---- Retention: old events go, and, here only, the compat Realtime rows ------------------------------
create or replace function public.purge_events(
  p_before timestamptz, p_limit integer, p_dry_run boolean default false, p_tenant uuid default null
) returns integer language plpgsql security invoker set search_path = '' as $$
declare
  v_count integer := private.purge_before('public.events', 'created_at', p_before, p_limit, p_dry_run, p_tenant);
begin
  if not p_dry_run and obj_description('realtime.messages'::regclass, 'pg_class') = 'durable-inbox: Supabase Realtime compat' then
    delete from realtime.messages m where m.ctid = any (array(
      select x.ctid from realtime.messages x
      where x.inserted_at < p_before at time zone 'UTC'
        and (p_tenant is null or x.topic = 'tenant:' || p_tenant::text)
      order by x.inserted_at limit p_limit));
  end if;
  return v_count;
end
$$;
