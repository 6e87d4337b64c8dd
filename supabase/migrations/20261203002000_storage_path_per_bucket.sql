-- An object key is unique within its bucket, not across buckets: the same bytes under the same name
-- in two buckets have the same key (<tenant>/<sha[0:2]>/<sha>/<name>) and are two objects. With the
-- global unique on files.storage_path the second upload failed on every retry with a raw
-- "duplicate key" error. Rows are still one per (tenant, bucket, sha256), the upload's natural key
-- (claimFile's ON CONFLICT); file_deletion_jobs is already keyed by (bucket, storage_path).

do $$
declare
  v_name text;
begin
  -- The global unique, whatever it is called (files_storage_path_key when made by the files migration).
  for v_name in
    select c.conname from pg_constraint c
    where c.conrelid = 'public.files'::regclass and c.contype = 'u'
      and c.conkey = array[(select attnum from pg_attribute
                            where attrelid = 'public.files'::regclass and attname = 'storage_path')]
  loop
    execute format('alter table public.files drop constraint %I', v_name);
  end loop;

  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.files'::regclass and conname = 'files_bucket_storage_path_key'
  ) then
    alter table public.files add constraint files_bucket_storage_path_key unique (bucket, storage_path);
  end if;
end $$;
