-- An object key is unique within its bucket, not across buckets: the same bytes under the same name
-- in two buckets have the same key (<tenant>/<sha[0:2]>/<sha>/<name>) and are two objects. With the
-- global unique on files.storage_path the second upload failed on every retry with a raw
-- "duplicate key" error. Rows are still one per (tenant, bucket, sha256), the upload's natural key;
-- file_deletion_jobs is already keyed by (bucket, storage_path).

alter table public.files drop constraint if exists files_storage_path_key;

do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conrelid = 'public.files'::regclass and conname = 'files_bucket_storage_path_key'
  ) then
    alter table public.files add constraint files_bucket_storage_path_key unique (bucket, storage_path);
  end if;
end $$;
