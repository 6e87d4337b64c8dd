import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { authorize, forbiddenText, permissionTable } from '../../app/permissions.js';
import type { Principal } from '../../app/principal.js';

const as = (role: 'owner' | 'admin' | 'member' | 'viewer'): Principal => ({
  actor: `test:${role}`,
  claims: { sub: role, role: 'authenticated' },
  tenants: [{ tenantId: 't1', role }],
});

describe('the permission matrix', () => {
  it('is printed in the README as it is', async () => {
    expect(await readFile('README.md', 'utf8')).toContain(permissionTable());
  });

  it('refuses saying which role is needed, and refuses tenants the principal is not in', () => {
    expect(() => authorize(as('viewer'), 't1', 'ingest_email')).toThrow(
      'ingesting email needs the owner, admin or member role; this identity is viewer',
    );
    expect(() => authorize(as('member'), 't1', 'analyze_email.force')).toThrow(
      're-analysing an email (force) needs the owner or admin role; this identity is member',
    );
    expect(authorize(as('owner'), 't1', 'retention_run_now')).toBe('owner');
    expect(() => authorize(as('owner'), 't2', 'search_emails')).toThrow(
      forbiddenText('search_emails', undefined),
    );
  });
});
