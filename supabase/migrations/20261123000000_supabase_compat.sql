-- Make plain Postgres (and PGlite) look like Supabase where this project depends on it: the API roles,
-- the auth.uid()/auth.jwt()/auth.role() helpers reading `request.jwt.claims`, and the realtime
-- publication. Every statement is guarded, so on a real Supabase project this migration changes nothing.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- The connecting role must be able to `set role` to the API roles, as Supabase's authenticator does.
do $$
begin
  execute format('grant anon, authenticated, service_role to %I', current_user);
exception when others then
  raise notice 'could not grant API roles to %: %', current_user, sqlerrm;
end
$$;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

-- Definitions as Supabase ships them (supabase/postgres, auth schema), created only where missing.
do $$
declare
  f record;
begin
  for f in
    select * from (values
      ('uid', $f$
        create function auth.uid() returns uuid language sql stable as $b$
          select coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
          )::uuid
        $b$ $f$),
      ('role', $f$
        create function auth.role() returns text language sql stable as $b$
          select coalesce(
            nullif(current_setting('request.jwt.claim.role', true), ''),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
          )::text
        $b$ $f$),
      ('jwt', $f$
        create function auth.jwt() returns jsonb language sql stable as $b$
          select coalesce(
            nullif(current_setting('request.jwt.claim', true), ''),
            nullif(current_setting('request.jwt.claims', true), '')
          )::jsonb
        $b$ $f$)
    ) as t (name, ddl)
  loop
    if not exists (
      select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'auth' and p.proname = f.name
    ) then
      execute f.ddl;
    end if;
  end loop;
end
$$;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
exception when others then
  -- PGlite and some managed Postgres builds have no logical replication; realtime is optional here.
  raise notice 'supabase_realtime publication not created: %', sqlerrm;
end
$$;

-- Functions in `private` are never exposed through PostgREST.
create schema if not exists private;
grant usage on schema private to anon, authenticated, service_role;
