-- search_emails at a cost set by its matches, not by the tenant's size (issue 15).
--
-- Run as the caller, the search went through the emails policy, and the full-text match
-- (tsvector @@ tsquery) is not leakproof: Postgres may not evaluate it before a row-level security qual,
-- so it could never use emails_search_idx. Every search read all of the tenant's emails and called
-- private.is_tenant_member once per row (1 s at 20,000 emails). This function checks the same wall once
-- (the caller is a member of the tenant, or holds one of its API keys; anon is neither) and then runs the
-- search on the index. It reads one tenant's emails, the one it is given, and nothing else.
create or replace function public.search_tenant_emails(
  p_tenant uuid, p_query text, p_limit integer, p_offset integer
) returns table (
  email_id uuid, subject text, from_address text, sent_at timestamptz, thread_id text, rank real,
  snippet text, total bigint
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
           count(*) over ()
    from public.emails e, q
    where e.tenant_id = p_tenant and e.search @@ q.q
    order by 6 desc, e.sent_at desc, e.id
    limit p_limit offset p_offset;
end
$$;
revoke all on function public.search_tenant_emails(uuid, text, integer, integer) from public, anon;
grant execute on function public.search_tenant_emails(uuid, text, integer, integer) to authenticated, service_role;
