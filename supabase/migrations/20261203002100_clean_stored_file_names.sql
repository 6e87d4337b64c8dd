-- File names as they are stored and shown, without the characters that make a name read as something
-- it is not: the SQL twin of core/file-name.ts (visibleFileName), for names stored before the app
-- cleaned them. Control characters (Cc), format characters (Cf: bidi embeddings, overrides and
-- isolates such as U+202E, zero-width characters, the BOM, tags) and the line and paragraph separators
-- (Zl, Zp), as Unicode 17 lists them; tests/integration/file-names-sql.test.ts checks every code point
-- against the JavaScript cleaner.

create or replace function private.visible_file_name(p_name text)
returns text language sql immutable strict parallel safe set search_path = '' as $$
  select regexp_replace(
    p_name,
    '[\u0001-\u001F\u007F-\u009F\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F]',
    '',
    'g'
  )
$$;
revoke all on function private.visible_file_name(text) from public;
grant execute on function private.visible_file_name(text) to authenticated, service_role;

-- A stored name with nothing visible left gets a placeholder, as new attachments do
-- (core/attachments.ts: attachment-<n>); uploads refuse such names (InvalidKey).
update public.files
set filename = coalesce(nullif(btrim(private.visible_file_name(filename)), ''), 'file'), updated_at = now()
where filename <> private.visible_file_name(filename);

update public.email_attachments
set filename = coalesce(nullif(btrim(private.visible_file_name(filename)), ''), 'attachment-' || (part_index + 1)),
    updated_at = now()
where filename <> private.visible_file_name(filename);

update public.user_files
set filename = coalesce(nullif(btrim(private.visible_file_name(filename)), ''), 'file')
where filename <> private.visible_file_name(filename);
