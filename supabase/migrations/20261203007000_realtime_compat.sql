-- Supabase Realtime's database side, for plain Postgres and PGlite: the `realtime.messages` table that
-- Broadcast-from-the-database writes to, `realtime.send` / `realtime.broadcast_changes` and
-- `realtime.topic()`, with Supabase's shapes and signatures, so the triggers and the RLS policy of the
-- events migration run (and are tested) here exactly as on a project. Realtime's server, which reads
-- the table and pushes to browsers, does not run here.
--
-- On a real Supabase project `realtime.messages` already exists: then this migration changes nothing.

do $guard$
begin
  if exists (
    select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'realtime' and c.relname = 'messages'
  ) then
    raise notice 'realtime.messages exists (a Supabase project): nothing to create';
    return;
  end if;

  create schema if not exists realtime;
  grant usage on schema realtime to anon, authenticated, service_role;

  -- As Supabase defines it, without the daily partitions (Realtime itself drops those after 3 days; the
  -- retention workflow purges this table here, see purge_events).
  create table realtime.messages (
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    updated_at timestamp without time zone not null default now(),
    inserted_at timestamp without time zone not null default now(),
    id uuid not null default gen_random_uuid(),
    primary key (id, inserted_at)
  );
  create index messages_inserted_at_topic_index on realtime.messages (inserted_at desc, topic);
  comment on table realtime.messages is 'durable-inbox: Supabase Realtime compat';
  alter table realtime.messages enable row level security;
  grant select, insert on realtime.messages to anon, authenticated;
  grant all on realtime.messages to service_role;

  -- The channel topic Realtime's authorization check runs under.
  create function realtime.topic() returns text language sql stable as $f$
    select nullif(current_setting('realtime.topic', true), '')::text
  $f$;

  create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
  returns void language plpgsql as $f$
  begin
    insert into realtime.messages (payload, event, topic, private, extension)
    values (payload, event, topic, private, 'broadcast');
  exception when others then
    -- As on Supabase: a broadcast that cannot be written never fails the transaction that sends it.
    raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end
  $f$;

  create function realtime.broadcast_changes(
    topic_name text, event_name text, operation text, table_name text, table_schema text,
    new record, old record, level text default 'ROW'
  ) returns void language plpgsql as $f$
  declare
    row_data jsonb;
  begin
    if level = 'STATEMENT' then
      raise exception 'function can only be triggered for each row, not for each statement';
    end if;
    row_data := jsonb_build_object('old_record', case when old is null then null else to_jsonb(old) end,
      'record', case when new is null then null else to_jsonb(new) end,
      'operation', operation, 'table', table_name, 'schema', table_schema);
    perform realtime.send(row_data, event_name, topic_name, true);
  end
  $f$;
end
$guard$;
