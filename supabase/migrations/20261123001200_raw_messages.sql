-- The raw message of every stored email is kept in storage (bucket `raw-messages`) as a file, linked
-- from emails.raw_file_id. The column existed from the start; it now points at a real file row, and is
-- indexed like every foreign key. Deleting the file row (retention) unlinks it instead of failing.

do $$
begin
  if not exists (
    select 1 from pg_constraint where conname = 'emails_raw_file_id_fkey' and conrelid = 'public.emails'::regclass
  ) then
    alter table public.emails
      add constraint emails_raw_file_id_fkey foreign key (raw_file_id) references public.files (id) on delete set null;
  end if;
end
$$;
create index if not exists emails_raw_file_id_idx on public.emails (raw_file_id);
-- Emails still waiting for their raw message to reach storage: a partial index, small when all is well.
create index if not exists emails_raw_pending_idx on public.emails (tenant_id) where raw_file_id is null;
