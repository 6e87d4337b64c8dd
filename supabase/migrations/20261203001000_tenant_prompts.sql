-- Prompts per tenant. A prompt version belongs to a scope: the global default set (tenant_id null,
-- changed only by the operator organization) or one tenant (tenant_id set, changed by that tenant's
-- owners and admins). A tenant's mail is served by its own active version, or, when it has none, by the
-- global one; a rollout runs in one scope and serves only that scope's mail (public.serving_prompt).
--
-- Every existing row was the global set, so every existing row stays global (tenant_id null). Version
-- numbers, "one active version" and "one open rollout" now hold per scope.
--
-- prompt_rollouts.tenant_id was the organization of whoever started the rollout; it becomes
-- started_by_tenant_id, and tenant_id is now the rollout's scope, like every other tenant table.

alter table public.system_prompts
  add column if not exists tenant_id uuid references public.organizations (id) on delete cascade;
alter table public.prompt_versions
  add column if not exists tenant_id uuid references public.organizations (id) on delete cascade;
alter table public.prompt_rollouts rename column tenant_id to started_by_tenant_id;
alter index if exists public.prompt_rollouts_tenant_idx rename to prompt_rollouts_started_by_idx;
alter table public.prompt_rollouts
  add column tenant_id uuid references public.organizations (id) on delete cascade;

-- Version numbers per scope: the global v3 and a tenant's v3 are different prompts.
alter table public.system_prompts drop constraint if exists system_prompts_tool_name_provider_version_key;
create unique index if not exists system_prompts_global_version_idx
  on public.system_prompts (tool_name, provider, version) where tenant_id is null;
create unique index if not exists system_prompts_tenant_version_idx
  on public.system_prompts (tenant_id, tool_name, provider, version) where tenant_id is not null;

-- One active version per scope (the global one keeps its index name).
drop index if exists public.system_prompts_one_active_idx;
create unique index system_prompts_one_active_idx
  on public.system_prompts (tool_name, provider) where is_active and tenant_id is null;
create unique index if not exists system_prompts_tenant_one_active_idx
  on public.system_prompts (tenant_id, tool_name, provider) where is_active and tenant_id is not null;

-- One open rollout per scope.
drop index if exists public.prompt_rollouts_one_open_idx;
create unique index prompt_rollouts_one_open_idx
  on public.prompt_rollouts (tool_name, provider) where status in ('running', 'paused') and tenant_id is null;
create unique index if not exists prompt_rollouts_tenant_one_open_idx
  on public.prompt_rollouts (tenant_id, tool_name, provider)
  where status in ('running', 'paused') and tenant_id is not null;
create index if not exists prompt_rollouts_tenant_idx on public.prompt_rollouts (tenant_id);
create index if not exists system_prompts_tenant_idx on public.system_prompts (tenant_id);
create index if not exists prompt_versions_tenant_idx on public.prompt_versions (tenant_id);

-- A version's scope is part of what it is: immutable like its content.
create or replace function private.system_prompts_immutable() returns trigger
language plpgsql as $$
begin
  if new.content is distinct from old.content or new.content_sha256 is distinct from old.content_sha256
     or new.version is distinct from old.version or new.tool_name is distinct from old.tool_name
     or new.provider is distinct from old.provider or new.tenant_id is distinct from old.tenant_id then
    raise exception 'system prompt % v% is immutable: create a new version instead', old.tool_name, old.version
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;

-- Readers see the global set and their own tenant's, never another tenant's.
drop policy if exists system_prompts_select_authenticated on public.system_prompts;
drop policy if exists system_prompts_select_scope on public.system_prompts;
create policy system_prompts_select_scope on public.system_prompts for select to authenticated
  using (tenant_id is null or (select private.is_tenant_member(tenant_id)));
drop policy if exists prompt_versions_select_authenticated on public.prompt_versions;
drop policy if exists prompt_versions_select_scope on public.prompt_versions;
create policy prompt_versions_select_scope on public.prompt_versions for select to authenticated
  using (tenant_id is null or (select private.is_tenant_member(tenant_id)));
drop policy if exists prompt_rollouts_select_authenticated on public.prompt_rollouts;
drop policy if exists prompt_rollouts_select_scope on public.prompt_rollouts;
create policy prompt_rollouts_select_scope on public.prompt_rollouts for select to authenticated
  using (tenant_id is null or (select private.is_tenant_member(tenant_id)));

-- The audit row of a change goes to the tenant whose prompt changed; a global change to the organization
-- the actor acted for (the operator's).
create or replace function private.prompt_audit_tenant(p_scope uuid, p jsonb) returns uuid
language sql immutable set search_path = '' as $$
  select coalesce(p_scope, (p ->> 'tenantId')::uuid)
$$;
revoke all on function private.prompt_audit_tenant(uuid, jsonb) from public;
grant execute on function private.prompt_audit_tenant(uuid, jsonb) to service_role;

-- The scope a request names: p.scopeTenantId, null for the global set.
create or replace function private.prompt_scope(p jsonb) returns uuid
language sql immutable set search_path = '' as $$
  select nullif(p ->> 'scopeTenantId', '')::uuid
$$;
revoke all on function private.prompt_scope(jsonb) from public;
grant execute on function private.prompt_scope(jsonb) to service_role;

-- A new version in the scope with this content, or the scope's existing version with exactly this content.
create or replace function public.create_prompt_version(p jsonb)
returns table (prompt_id uuid, version integer, created boolean)
language plpgsql security invoker set search_path = '' as $$
declare
  v_scope uuid := private.prompt_scope(p);
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
  where s.tenant_id is not distinct from v_scope
    and s.tool_name = v_tool and s.provider = v_provider and s.content_sha256 = v_sha
  order by s.version limit 1;
  if v_id is not null then
    return query select v_id, v_version, false;
    return;
  end if;

  select coalesce(max(s.version), 0) + 1 into v_version from public.system_prompts s
  where s.tenant_id is not distinct from v_scope and s.tool_name = v_tool and s.provider = v_provider;
  insert into public.system_prompts (tenant_id, tool_name, provider, version, content, content_sha256, is_active, created_by, change_description)
  values (v_scope, v_tool, v_provider, v_version, v_content, v_sha, false, p ->> 'actor', coalesce(p ->> 'description', ''))
  returning id into v_id;
  insert into public.prompt_versions (tenant_id, system_prompt_id, tool_name, provider, version, event, actor, detail)
  values (v_scope, v_id, v_tool, v_provider, v_version, 'created', p ->> 'actor',
          jsonb_build_object('description', p ->> 'description'));
  perform private.audit_prompt_change(private.prompt_audit_tenant(v_scope, p), p ->> 'actor',
    'prompt.version_created', 'system_prompt', v_id::text,
    jsonb_build_object('toolName', v_tool, 'provider', v_provider, 'version', v_version, 'sha256', v_sha,
                       'scope', case when v_scope is null then 'global' else 'tenant' end,
                       'description', p ->> 'description'));
  return query select v_id, v_version, true;
end
$$;

-- The version that serves a scope when no rollout runs: the tenant's own active version, else the global
-- one (null scope: the global one).
create or replace function private.effective_prompt(p_scope uuid, p_tool text, p_provider text)
returns uuid language sql stable security invoker set search_path = '' as $$
  select s.id from public.system_prompts s
  where s.tool_name = p_tool and s.provider = p_provider and s.is_active
    and (s.tenant_id is null or s.tenant_id = p_scope)
  order by s.tenant_id is null
  limit 1
$$;
revoke all on function private.effective_prompt(uuid, text, text) from public;
grant execute on function private.effective_prompt(uuid, text, text) to authenticated, service_role;

-- Open a rollout at traffic 0 in the request's scope. Idempotent on the rollout id. Refuses a second open
-- rollout in the scope, a baseline that is not what serves the scope now, and a candidate of another
-- tool/provider or scope.
create or replace function public.open_prompt_rollout(p jsonb)
returns void language plpgsql security invoker set search_path = '' as $$
declare
  v_id uuid := (p ->> 'id')::uuid;
  v_scope uuid := private.prompt_scope(p);
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
  where r.tenant_id is not distinct from v_scope
    and r.tool_name = v_tool and r.provider = v_provider and r.status in ('running', 'paused');
  if v_open.id is not null then
    raise exception 'a rollout of %/% is already running: candidate v% at %, started by % at % (rollout %)',
      v_tool, v_provider, v_open.candidate_version, v_open.traffic_percent || '%', v_open.actor,
      to_char(v_open.started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), v_open.id
      using errcode = 'DI409';
  end if;
  select * into v_baseline from public.system_prompts s where s.id = (p ->> 'baselineId')::uuid;
  select * into v_candidate from public.system_prompts s where s.id = (p ->> 'candidateId')::uuid;
  if v_baseline.id is null or v_candidate.id is null
     or v_candidate.tenant_id is distinct from v_scope
     or (v_baseline.tenant_id is not null and v_baseline.tenant_id is distinct from v_scope) then
    raise exception 'baseline or candidate prompt version does not exist' using errcode = 'DI404';
  end if;
  if v_baseline.tool_name <> v_tool or v_baseline.provider <> v_provider
     or v_candidate.tool_name <> v_tool or v_candidate.provider <> v_provider then
    raise exception 'baseline and candidate must both be %/% prompt versions', v_tool, v_provider using errcode = 'DI422';
  end if;
  if v_baseline.id is distinct from private.effective_prompt(v_scope, v_tool, v_provider) then
    raise exception 'the baseline v% is no longer the active %/% prompt', v_baseline.version, v_tool, v_provider
      using errcode = 'DI412';
  end if;
  if v_candidate.id = v_baseline.id then
    raise exception 'the candidate is the active version v%', v_baseline.version using errcode = 'DI422';
  end if;

  insert into public.prompt_rollouts (
    id, tenant_id, tool_name, provider, baseline_prompt_id, candidate_prompt_id, stages, bake_seconds, gates,
    workflow_id, started_by_tenant_id, actor
  ) values (
    v_id, v_scope, v_tool, v_provider, v_baseline.id, v_candidate.id,
    array(select jsonb_array_elements_text(p -> 'stages')::integer), (p ->> 'bakeSeconds')::integer,
    p -> 'gates', p ->> 'workflowId', (p ->> 'tenantId')::uuid, p ->> 'actor'
  );
  perform private.audit_prompt_change(private.prompt_audit_tenant(v_scope, p), p ->> 'actor',
    'prompt_rollout.started', 'prompt_rollout', v_id::text,
    jsonb_build_object('toolName', v_tool, 'provider', v_provider, 'baselineVersion', v_baseline.version,
                       'baselineScope', case when v_baseline.tenant_id is null then 'global' else 'tenant' end,
                       'candidateVersion', v_candidate.version, 'stages', p -> 'stages',
                       'scope', case when v_scope is null then 'global' else 'tenant' end,
                       'bakeSeconds', p -> 'bakeSeconds', 'gates', p -> 'gates'));
end
$$;

-- As before; the audit row goes to the rollout's tenant.
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
  perform private.audit_prompt_change(private.prompt_audit_tenant(r.tenant_id, p), p ->> 'actor',
    coalesce(p ->> 'action', 'prompt_rollout.stage'), 'prompt_rollout', p_rollout::text,
    jsonb_build_object('toolName', r.tool_name, 'provider', r.provider, 'stage', v_stage, 'percent', v_percent,
                       'status', v_status, 'from', jsonb_build_object('stage', r.stage,
                       'percent', r.traffic_percent, 'status', r.status), 'reason', p ->> 'reason'));
  return query select v_started, true;
end
$$;

-- THE way a version becomes active in a scope, and the way a rollout ends, in one transaction (see
-- 20261123003000). The scope is p.scopeTenantId (null: global). The target is a version of that scope, or,
-- for a tenant scope, a global version: "serve the global default" (the tenant's own active version is
-- deactivated, the global set is never touched from a tenant scope). A version or rollout of another
-- scope reads as missing.
create or replace function public.activate_prompt_version(p_prompt uuid, p jsonb)
returns table (changed boolean, previous_version integer, active_version integer, rollout_id uuid, rollout_status text)
language plpgsql security invoker set search_path = '' as $$
declare
  v_scope uuid := private.prompt_scope(p);
  v_target public.system_prompts;
  v_active public.system_prompts;
  v_rollout public.prompt_rollouts;
  v_inherit boolean;
  v_status text;
  v_changed boolean := false;
  v_actor text := p ->> 'actor';
  v_reason text := p ->> 'reason';
begin
  select * into v_target from public.system_prompts s where s.id = p_prompt;
  if v_target.id is null or (v_target.tenant_id is not null and v_target.tenant_id is distinct from v_scope) then
    raise exception 'no prompt version %', p_prompt using errcode = 'DI404';
  end if;
  v_inherit := v_scope is not null and v_target.tenant_id is null;
  perform private.lock_prompt_pair(v_target.tool_name, v_target.provider);
  select * into v_active from public.system_prompts s
  where s.tenant_id is not distinct from v_scope
    and s.tool_name = v_target.tool_name and s.provider = v_target.provider and s.is_active for update;

  if p ? 'rolloutId' then
    select * into v_rollout from public.prompt_rollouts r
    where r.id = (p ->> 'rolloutId')::uuid and r.tenant_id is not distinct from v_scope for update;
    if v_rollout.id is null then
      raise exception 'no prompt rollout %', p ->> 'rolloutId' using errcode = 'DI404';
    end if;
    if v_rollout.tool_name <> v_target.tool_name or v_rollout.provider <> v_target.provider then
      raise exception 'rollout % is for %/%, not %/%', v_rollout.id, v_rollout.tool_name, v_rollout.provider,
        v_target.tool_name, v_target.provider using errcode = 'DI422';
    end if;
    if v_rollout.status not in ('running', 'paused') then
      return query select false, v_active.version, coalesce(v_active.version, v_target.version), v_rollout.id, v_rollout.status;
      return;
    end if;
  else
    select * into v_rollout from public.prompt_rollouts r
    where r.tenant_id is not distinct from v_scope
      and r.tool_name = v_target.tool_name and r.provider = v_target.provider and r.status in ('running', 'paused')
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

  if v_inherit then
    -- Back to the global default: only the tenant's own active version changes.
    if v_active.id is not null then
      update public.system_prompts s set is_active = false where s.id = v_active.id;
      insert into public.prompt_versions (tenant_id, system_prompt_id, tool_name, provider, version, event, actor, detail)
      values (v_scope, v_active.id, v_active.tool_name, v_active.provider, v_active.version, 'deactivated', v_actor,
              jsonb_build_object('reason', v_reason, 'replacedBy', 'global v' || v_target.version, 'rolloutId', v_rollout.id));
      v_changed := true;
    end if;
  elsif v_active.id is distinct from v_target.id then
    if v_active.id is not null then
      update public.system_prompts s set is_active = false where s.id = v_active.id;
      insert into public.prompt_versions (tenant_id, system_prompt_id, tool_name, provider, version, event, actor, detail)
      values (v_scope, v_active.id, v_active.tool_name, v_active.provider, v_active.version, 'deactivated', v_actor,
              jsonb_build_object('reason', v_reason, 'replacedBy', v_target.version, 'rolloutId', v_rollout.id));
    end if;
    update public.system_prompts s set is_active = true where s.id = v_target.id;
    insert into public.prompt_versions (tenant_id, system_prompt_id, tool_name, provider, version, event, actor, detail)
    values (v_scope, v_target.id, v_target.tool_name, v_target.provider, v_target.version, 'activated', v_actor,
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
    perform private.audit_prompt_change(private.prompt_audit_tenant(v_scope, p), v_actor,
      case when v_rollout.id is not null and p ? 'rolloutId' then 'prompt_rollout.' || v_status
           when v_inherit then 'prompt.inherited' else 'prompt.activated' end,
      case when v_rollout.id is not null and p ? 'rolloutId' then 'prompt_rollout' else 'system_prompt' end,
      case when v_rollout.id is not null and p ? 'rolloutId' then v_rollout.id::text else v_target.id::text end,
      jsonb_build_object('toolName', v_target.tool_name, 'provider', v_target.provider,
                         'scope', case when v_scope is null then 'global' else 'tenant' end,
                         'activeVersion', v_target.version,
                         'activeScope', case when v_target.tenant_id is null then 'global' else 'tenant' end,
                         'previousVersion', v_active.version,
                         'rolloutId', v_rollout.id, 'rolloutStatus', v_status, 'reason', v_reason));
  end if;
  return query select v_changed, v_active.version, v_target.version, v_rollout.id, v_status;
end
$$;

-- What serves one tenant's mail for a tool/provider, in one call (supabase/prompts.ts resolvePromptVersion):
--   the tenant's open rollout, if any: its baseline and candidate (the baseline may be a global version);
--   else the tenant's own active version (no rollout);
--   else the global active version, with the global open rollout on it, if any.
-- So a rollout's traffic is only its scope's mail: a tenant's rollout only that tenant's, the global
-- rollout only the mail of tenants that neither have a version of their own active nor roll one out.
create or replace function public.serving_prompt(p_tenant uuid, p_tool text, p_provider text)
returns table (
  prompt_id uuid, prompt_version integer, prompt_scope text,
  rollout_id uuid, traffic_percent integer, candidate_id uuid, candidate_version integer, candidate_scope text
)
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_rollout public.prompt_rollouts;
  v_base public.system_prompts;
  v_candidate public.system_prompts;
begin
  select * into v_rollout from public.prompt_rollouts r
  where r.tenant_id = p_tenant and r.tool_name = p_tool and r.provider = p_provider
    and r.status in ('running', 'paused');
  if v_rollout.id is not null then
    select * into v_base from public.system_prompts s where s.id = v_rollout.baseline_prompt_id;
  else
    select * into v_base from public.system_prompts s where s.id = private.effective_prompt(p_tenant, p_tool, p_provider);
    if v_base.id is null then
      return;
    end if;
    if v_base.tenant_id is null then
      select * into v_rollout from public.prompt_rollouts r
      where r.tenant_id is null and r.tool_name = p_tool and r.provider = p_provider
        and r.status in ('running', 'paused') and r.baseline_prompt_id = v_base.id;
    end if;
  end if;
  if v_rollout.id is not null then
    select * into v_candidate from public.system_prompts s where s.id = v_rollout.candidate_prompt_id;
  end if;
  return query select v_base.id, v_base.version,
    case when v_base.tenant_id is null then 'global' else 'tenant' end,
    v_rollout.id, v_rollout.traffic_percent, v_candidate.id, v_candidate.version,
    case when v_candidate.id is null then null when v_candidate.tenant_id is null then 'global' else 'tenant' end;
end
$$;
-- analyze_email plans as the caller (RLS on): the function reads with the caller's rights, so for any
-- tenant but the caller's own it can only ever see the global set.
revoke all on function public.serving_prompt(uuid, text, text) from public, anon;
grant execute on function public.serving_prompt(uuid, text, text) to authenticated, service_role;
