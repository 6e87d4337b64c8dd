-- Prompt rollouts: a candidate system-prompt version is shipped by stages (a traffic percent each),
-- gated on its measured quality against the baseline (the active version), and either made active or
-- rolled back. The prompt-rollout workflow drives a row here; the analysis path only reads it
-- (resolvePromptVersion), so which prompt serves an email never needs a call to Temporal.
--
-- Prompts are product configuration, not tenant data (see 20261123002000): a rollout is global per
-- tool/provider. tenant_id and actor record who started it, for the audit log.
--
-- Custom SQLSTATEs, mapped to error types by supabase/prompt-rollouts.ts:
--   DI404 not found, DI409 a rollout is already open, DI412 the state does not allow it, DI422 invalid.

create table if not exists public.prompt_rollouts (
  id uuid primary key,
  tool_name text not null,
  provider text not null,
  baseline_prompt_id uuid not null references public.system_prompts (id),
  candidate_prompt_id uuid not null references public.system_prompts (id),
  -- The candidate's share of traffic now: subjects whose bucket (0-99) is below it get the candidate.
  traffic_percent integer not null default 0 check (traffic_percent between 0 and 100),
  -- Index into stages of the stage being baked.
  stage integer not null default 0 check (stage >= 0),
  stages integer[] not null check (cardinality(stages) between 1 and 10),
  status text not null default 'running'
    check (status in ('running', 'paused', 'completed', 'rolled_back', 'aborted')),
  bake_seconds integer not null check (bake_seconds > 0),
  gates jsonb not null,
  -- One entry per gate evaluation: stage, percent, verdict, per-arm metrics, when.
  evidence jsonb not null default '[]'::jsonb,
  workflow_id text not null,
  tenant_id uuid references public.organizations (id) on delete set null,
  actor text not null,
  reason text,
  stage_started_at timestamptz,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  check (baseline_prompt_id <> candidate_prompt_id),
  check ((status in ('running', 'paused')) = (finished_at is null))
);
-- At most one open rollout per tool/provider, whatever starts it: the workflow id is the first wall,
-- this index the second.
create unique index if not exists prompt_rollouts_one_open_idx
  on public.prompt_rollouts (tool_name, provider) where status in ('running', 'paused');
create index if not exists prompt_rollouts_tool_idx on public.prompt_rollouts (tool_name, provider, started_at);
create index if not exists prompt_rollouts_baseline_idx on public.prompt_rollouts (baseline_prompt_id);
create index if not exists prompt_rollouts_candidate_idx on public.prompt_rollouts (candidate_prompt_id);
create index if not exists prompt_rollouts_tenant_idx on public.prompt_rollouts (tenant_id);

-- Readable like the prompts themselves; written only through the functions below.
alter table public.prompt_rollouts enable row level security;
drop policy if exists prompt_rollouts_select_authenticated on public.prompt_rollouts;
create policy prompt_rollouts_select_authenticated on public.prompt_rollouts
  for select to authenticated using (true);
grant select on public.prompt_rollouts to authenticated;
grant all on public.prompt_rollouts to service_role;

-- One audit row; the log is per tenant, so a change made by no tenant's member is not logged here.
create or replace function private.audit_prompt_change(
  p_tenant uuid, p_actor text, p_action text, p_subject_type text, p_subject_id text, p_detail jsonb
) returns void language sql security invoker set search_path = '' as $$
  insert into public.audit_log (tenant_id, actor, action, subject_type, subject_id, detail)
  select p_tenant, p_actor, p_action, p_subject_type, p_subject_id, p_detail
  where p_tenant is not null and exists (select 1 from public.organizations o where o.id = p_tenant)
$$;
revoke all on function private.audit_prompt_change(uuid, text, text, text, text, jsonb) from public;
grant execute on function private.audit_prompt_change(uuid, text, text, text, text, jsonb) to service_role;

-- Serialises every change to one tool/provider's prompts and rollouts.
create or replace function private.lock_prompt_pair(p_tool text, p_provider text) returns void
language sql security invoker set search_path = '' as $$
  select pg_advisory_xact_lock(hashtext('durable-inbox prompt ' || p_tool || '/' || p_provider))
$$;
revoke all on function private.lock_prompt_pair(text, text) from public;
grant execute on function private.lock_prompt_pair(text, text) to service_role;

-- A new version with this content, or the existing version that already has exactly this content
-- (versions are immutable, so equal content is the same prompt).
create or replace function public.create_prompt_version(p jsonb)
returns table (prompt_id uuid, version integer, created boolean)
language plpgsql security invoker set search_path = '' as $$
declare
  v_tool text := p ->> 'toolName';
  v_provider text := p ->> 'provider';
  v_content text := p ->> 'content';
  v_sha text;
  v_id uuid;
  v_version integer;
begin
  if coalesce(v_content, '') = '' then
    raise exception 'a prompt version needs content' using errcode = 'DI422';
  end if;
  v_sha := encode(sha256(convert_to(v_content, 'UTF8')), 'hex');
  perform private.lock_prompt_pair(v_tool, v_provider);
  select s.id, s.version into v_id, v_version from public.system_prompts s
  where s.tool_name = v_tool and s.provider = v_provider and s.content_sha256 = v_sha
  order by s.version limit 1;
  if v_id is not null then
    return query select v_id, v_version, false;
    return;
  end if;

  select coalesce(max(s.version), 0) + 1 into v_version from public.system_prompts s
  where s.tool_name = v_tool and s.provider = v_provider;
  insert into public.system_prompts (tool_name, provider, version, content, content_sha256, is_active, created_by, change_description)
  values (v_tool, v_provider, v_version, v_content, v_sha, false, p ->> 'actor', coalesce(p ->> 'description', ''))
  returning id into v_id;
  insert into public.prompt_versions (system_prompt_id, tool_name, provider, version, event, actor, detail)
  values (v_id, v_tool, v_provider, v_version, 'created', p ->> 'actor',
          jsonb_build_object('description', p ->> 'description'));
  perform private.audit_prompt_change((p ->> 'tenantId')::uuid, p ->> 'actor', 'prompt.version_created',
    'system_prompt', v_id::text,
    jsonb_build_object('toolName', v_tool, 'provider', v_provider, 'version', v_version, 'sha256', v_sha,
                       'description', p ->> 'description'));
  return query select v_id, v_version, true;
end
$$;

-- Open a rollout at traffic 0. Idempotent on the rollout id (an activity runs at least once). Refuses a
-- second open rollout for the pair, a baseline that is not the active version, and a candidate of
-- another tool/provider.
create or replace function public.open_prompt_rollout(p jsonb)
returns void language plpgsql security invoker set search_path = '' as $$
declare
  v_id uuid := (p ->> 'id')::uuid;
  v_tool text := p ->> 'toolName';
  v_provider text := p ->> 'provider';
  v_open record;
  v_baseline public.system_prompts;
  v_candidate public.system_prompts;
begin
  if exists (select 1 from public.prompt_rollouts r where r.id = v_id) then
    return;
  end if;
  perform private.lock_prompt_pair(v_tool, v_provider);
  select r.id, r.traffic_percent, r.actor, r.started_at, c.version as candidate_version
    into v_open
  from public.prompt_rollouts r join public.system_prompts c on c.id = r.candidate_prompt_id
  where r.tool_name = v_tool and r.provider = v_provider and r.status in ('running', 'paused');
  if v_open.id is not null then
    raise exception 'a rollout of %/% is already running: candidate v% at %, started by % at % (rollout %)',
      v_tool, v_provider, v_open.candidate_version, v_open.traffic_percent || '%', v_open.actor,
      to_char(v_open.started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), v_open.id
      using errcode = 'DI409';
  end if;
  select * into v_baseline from public.system_prompts s where s.id = (p ->> 'baselineId')::uuid;
  select * into v_candidate from public.system_prompts s where s.id = (p ->> 'candidateId')::uuid;
  if v_baseline.id is null or v_candidate.id is null then
    raise exception 'baseline or candidate prompt version does not exist' using errcode = 'DI404';
  end if;
  if v_baseline.tool_name <> v_tool or v_baseline.provider <> v_provider
     or v_candidate.tool_name <> v_tool or v_candidate.provider <> v_provider then
    raise exception 'baseline and candidate must both be %/% prompt versions', v_tool, v_provider using errcode = 'DI422';
  end if;
  if not v_baseline.is_active then
    raise exception 'the baseline v% is no longer the active %/% prompt', v_baseline.version, v_tool, v_provider
      using errcode = 'DI412';
  end if;
  if v_candidate.id = v_baseline.id then
    raise exception 'the candidate is the active version v%', v_baseline.version using errcode = 'DI422';
  end if;

  insert into public.prompt_rollouts (
    id, tool_name, provider, baseline_prompt_id, candidate_prompt_id, stages, bake_seconds, gates,
    workflow_id, tenant_id, actor
  ) values (
    v_id, v_tool, v_provider, v_baseline.id, v_candidate.id,
    array(select jsonb_array_elements_text(p -> 'stages')::integer), (p ->> 'bakeSeconds')::integer,
    p -> 'gates', p ->> 'workflowId', (p ->> 'tenantId')::uuid, p ->> 'actor'
  );
  perform private.audit_prompt_change((p ->> 'tenantId')::uuid, p ->> 'actor', 'prompt_rollout.started',
    'prompt_rollout', v_id::text,
    jsonb_build_object('toolName', v_tool, 'provider', v_provider, 'baselineVersion', v_baseline.version,
                       'candidateVersion', v_candidate.version, 'stages', p -> 'stages',
                       'bakeSeconds', p -> 'bakeSeconds', 'gates', p -> 'gates'));
end
$$;

-- Move an open rollout to a stage and traffic percent, or pause/resume it. A call that changes nothing
-- (an activity's retry) returns the current stage start and writes no audit row. The stage window
-- restarts only when the stage or percent changes, not on pause/resume.
create or replace function public.set_prompt_rollout_stage(p_rollout uuid, p jsonb)
returns table (stage_started_at timestamptz, changed boolean)
language plpgsql security invoker set search_path = '' as $$
declare
  r public.prompt_rollouts;
  v_stage integer := (p ->> 'stage')::integer;
  v_percent integer := (p ->> 'percent')::integer;
  v_status text := case when coalesce((p ->> 'paused')::boolean, false) then 'paused' else 'running' end;
  v_started timestamptz;
begin
  select * into r from public.prompt_rollouts x where x.id = p_rollout for update;
  if r.id is null then
    raise exception 'no prompt rollout %', p_rollout using errcode = 'DI404';
  end if;
  if r.status not in ('running', 'paused') then
    raise exception 'prompt rollout % is already %', p_rollout, r.status using errcode = 'DI412';
  end if;
  if r.stage_started_at is not null and r.stage = v_stage and r.traffic_percent = v_percent and r.status = v_status then
    return query select r.stage_started_at, false;
    return;
  end if;
  v_started := case when r.stage_started_at is null or r.stage <> v_stage or r.traffic_percent <> v_percent
                    then now() else r.stage_started_at end;
  update public.prompt_rollouts x set stage = v_stage, traffic_percent = v_percent, status = v_status,
    stage_started_at = v_started, updated_at = now()
  where x.id = p_rollout;
  perform private.audit_prompt_change((p ->> 'tenantId')::uuid, p ->> 'actor',
    coalesce(p ->> 'action', 'prompt_rollout.stage'), 'prompt_rollout', p_rollout::text,
    jsonb_build_object('toolName', r.tool_name, 'provider', r.provider, 'stage', v_stage, 'percent', v_percent,
                       'status', v_status, 'from', jsonb_build_object('stage', r.stage,
                       'percent', r.traffic_percent, 'status', r.status), 'reason', p ->> 'reason'));
  return query select v_started, true;
end
$$;

-- Record one gate evaluation; an evaluation recorded again (same seq) replaces itself.
create or replace function public.record_prompt_rollout_evidence(p_rollout uuid, p_entry jsonb)
returns void language sql security invoker set search_path = '' as $$
  update public.prompt_rollouts r set
    evidence = (
      select coalesce(jsonb_agg(e order by (e ->> 'seq')::integer), '[]'::jsonb)
      from (
        select e from jsonb_array_elements(r.evidence) e where (e ->> 'seq')::integer <> (p_entry ->> 'seq')::integer
        union all select p_entry
      ) entries (e)
    ),
    updated_at = now()
  where r.id = p_rollout
$$;

-- THE way a version becomes active, and the way a rollout ends, in one transaction:
--   deactivate the active version and activate p_prompt (history rows for both) unless it is active;
--   close the rollout (the given one, or the pair's open one): completed at 100% when p_prompt is its
--   candidate, else rolled_back/aborted at 0%;
--   one audit row.
-- Rollout completion activates the candidate; a failed gate or an abort "activates" the baseline (already
-- active: only the rollout closes); rollback_prompt activates any version. Idempotent: once done, a
-- repeat changes nothing and writes no audit row.
create or replace function public.activate_prompt_version(p_prompt uuid, p jsonb)
returns table (changed boolean, previous_version integer, active_version integer, rollout_id uuid, rollout_status text)
language plpgsql security invoker set search_path = '' as $$
declare
  v_target public.system_prompts;
  v_active public.system_prompts;
  v_rollout public.prompt_rollouts;
  v_status text;
  v_changed boolean := false;
  v_actor text := p ->> 'actor';
  v_reason text := p ->> 'reason';
begin
  select * into v_target from public.system_prompts s where s.id = p_prompt;
  if v_target.id is null then
    raise exception 'no prompt version %', p_prompt using errcode = 'DI404';
  end if;
  perform private.lock_prompt_pair(v_target.tool_name, v_target.provider);
  select * into v_active from public.system_prompts s
  where s.tool_name = v_target.tool_name and s.provider = v_target.provider and s.is_active for update;

  if p ? 'rolloutId' then
    select * into v_rollout from public.prompt_rollouts r where r.id = (p ->> 'rolloutId')::uuid for update;
    if v_rollout.id is null then
      raise exception 'no prompt rollout %', p ->> 'rolloutId' using errcode = 'DI404';
    end if;
    if v_rollout.tool_name <> v_target.tool_name or v_rollout.provider <> v_target.provider then
      raise exception 'rollout % is for %/%, not %/%', v_rollout.id, v_rollout.tool_name, v_rollout.provider,
        v_target.tool_name, v_target.provider using errcode = 'DI422';
    end if;
    if v_rollout.status not in ('running', 'paused') then
      -- Already closed (a retried activity): report the outcome, change nothing.
      return query select false, v_active.version, v_active.version, v_rollout.id, v_rollout.status;
      return;
    end if;
  else
    select * into v_rollout from public.prompt_rollouts r
    where r.tool_name = v_target.tool_name and r.provider = v_target.provider and r.status in ('running', 'paused')
    for update;
  end if;

  if v_rollout.id is not null then
    v_status := coalesce(p ->> 'rolloutStatus',
      case when v_rollout.candidate_prompt_id = p_prompt then 'completed' else 'rolled_back' end);
    if v_status not in ('completed', 'rolled_back', 'aborted') then
      raise exception 'a rollout cannot end as %', v_status using errcode = 'DI422';
    end if;
    if v_status = 'completed' and v_rollout.candidate_prompt_id <> p_prompt then
      raise exception 'a completed rollout makes its candidate active, not v%', v_target.version using errcode = 'DI422';
    end if;
  end if;

  if v_active.id is distinct from v_target.id then
    if v_active.id is not null then
      update public.system_prompts s set is_active = false where s.id = v_active.id;
      insert into public.prompt_versions (system_prompt_id, tool_name, provider, version, event, actor, detail)
      values (v_active.id, v_active.tool_name, v_active.provider, v_active.version, 'deactivated', v_actor,
              jsonb_build_object('reason', v_reason, 'replacedBy', v_target.version, 'rolloutId', v_rollout.id));
    end if;
    update public.system_prompts s set is_active = true where s.id = v_target.id;
    insert into public.prompt_versions (system_prompt_id, tool_name, provider, version, event, actor, detail)
    values (v_target.id, v_target.tool_name, v_target.provider, v_target.version, 'activated', v_actor,
            jsonb_build_object('reason', v_reason, 'replaced', v_active.version, 'rolloutId', v_rollout.id));
    v_changed := true;
  end if;

  if v_rollout.id is not null then
    update public.prompt_rollouts r set status = v_status,
      traffic_percent = case when v_status = 'completed' then 100 else 0 end,
      reason = coalesce(v_reason, r.reason), finished_at = now(), updated_at = now()
    where r.id = v_rollout.id;
    v_changed := true;
  end if;

  if v_changed then
    perform private.audit_prompt_change((p ->> 'tenantId')::uuid, v_actor,
      case when v_rollout.id is not null and p ? 'rolloutId' then 'prompt_rollout.' || v_status else 'prompt.activated' end,
      case when v_rollout.id is not null and p ? 'rolloutId' then 'prompt_rollout' else 'system_prompt' end,
      case when v_rollout.id is not null and p ? 'rolloutId' then v_rollout.id::text else v_target.id::text end,
      jsonb_build_object('toolName', v_target.tool_name, 'provider', v_target.provider,
                         'activeVersion', v_target.version, 'previousVersion', v_active.version,
                         'rolloutId', v_rollout.id, 'rolloutStatus', v_status, 'reason', v_reason));
  end if;
  return query select v_changed, v_active.version, v_target.version, v_rollout.id, v_status;
end
$$;

revoke all on function public.create_prompt_version(jsonb) from public, anon, authenticated;
revoke all on function public.open_prompt_rollout(jsonb) from public, anon, authenticated;
revoke all on function public.set_prompt_rollout_stage(uuid, jsonb) from public, anon, authenticated;
revoke all on function public.record_prompt_rollout_evidence(uuid, jsonb) from public, anon, authenticated;
revoke all on function public.activate_prompt_version(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.create_prompt_version(jsonb) to service_role;
grant execute on function public.open_prompt_rollout(jsonb) to service_role;
grant execute on function public.set_prompt_rollout_stage(uuid, jsonb) to service_role;
grant execute on function public.record_prompt_rollout_evidence(uuid, jsonb) to service_role;
grant execute on function public.activate_prompt_version(uuid, jsonb) to service_role;
