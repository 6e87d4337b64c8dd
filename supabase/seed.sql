-- Local development seed: the organization the stdio entry acts for by default (DURABLE_INBOX_TENANT=local).
insert into public.organizations (slug, name) values ('local', 'Local')
on conflict (slug) do nothing;
