/**
 * `inbound_addresses` over MCP HTTP: an admin adds an address and a domain, and mail for them is then
 * accepted by the SMTP listener for that organization; another organization cannot take them, cannot
 * see them, and cannot act on this one's; bad input is refused with the reason.
 */

import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningSmtpServer } from '../../mcp/smtp.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startSmtp } from '../../workers/inbound-entry.js';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { message, smtpClient, waitForEmails } from '../support/inbound.js';
import { callError, callOk, connectHttp } from '../support/mcp-clients.js';

describe('inbound_addresses', () => {
  const t = useHttpStack('admin');
  let smtp: RunningSmtpServer;
  let otherAdmin: McpClient;
  let otherSlug: string;
  const domain = `${uniqueName('acme')}.example`;

  beforeAll(async () => {
    smtp = await startSmtp(t.stack, createLogger('warn'), 0);
    otherSlug = uniqueName('other-org');
    const other = await ensureOrganization(t.stack.sql, otherSlug);
    const key = generateApiKey();
    await registerApiKey(t.stack.sql, other.id, 'other-admin', key, 'admin');
    otherAdmin = await connectHttp(t.http.url, key);
  });
  afterAll(async () => {
    await otherAdmin?.close();
    await smtp?.close();
  });

  it('adds an address and a domain; mail for them is accepted for this organization', async () => {
    const added = await callOk<{ changed: boolean; addresses: { kind: string; value: string }[] }>(
      t.mcp,
      'inbound_addresses',
      { action: 'add', address: `Invoices@${domain}` },
    );
    expect(added.changed).toBe(true);
    expect(added.addresses.map(({ kind, value }) => ({ kind, value }))).toEqual([
      { kind: 'address', value: `invoices@${domain}` },
    ]);
    const again = await callOk<{ changed: boolean }>(t.mcp, 'inbound_addresses', {
      action: 'add',
      address: `invoices@${domain}`,
    });
    expect(again.changed).toBe(false);
    await callOk(t.mcp, 'inbound_addresses', { action: 'add', domain: `mail.${domain}` });

    const id = uniqueName('routed');
    const info = await smtpClient(smtp.port).sendMail({
      envelope: { from: 'a@remote.example', to: [`invoices@${domain}`, `anyone@mail.${domain}`] },
      raw: message(id),
    });
    expect(info.accepted).toEqual([`invoices@${domain}`, `anyone@mail.${domain}`]);
    expect(await waitForEmails(t.stack.sql, t.stack.defaultTenant.id, `${id}@`, 1)).toHaveLength(1);
  });

  it('another organization can neither take, see nor change them', async () => {
    expect(
      await callError(otherAdmin, 'inbound_addresses', { action: 'add', address: `invoices@${domain}` }),
    ).toBe(`InboundAddressTaken: invoices@${domain} already receives mail for another organization`);
    const theirs = await callOk<{ addresses: unknown[] }>(otherAdmin, 'inbound_addresses', {
      action: 'list',
    });
    expect(theirs.addresses).toEqual([]);
    const removed = await callOk<{ changed: boolean }>(otherAdmin, 'inbound_addresses', {
      action: 'remove',
      address: `invoices@${domain}`,
    });
    expect(removed.changed).toBe(false);
    expect(
      await callError(otherAdmin, 'inbound_addresses', {
        action: 'list',
        tenant: t.stack.defaultTenant.slug,
      }),
    ).toBe(`Forbidden: tenant "${t.stack.defaultTenant.slug}" is not one this identity can act for`);
    const ours = await callOk<{ addresses: unknown[] }>(t.mcp, 'inbound_addresses', { action: 'list' });
    expect(ours.addresses).toHaveLength(2);
  });

  it('removes one, after which its mail is refused at RCPT; bad input says why', async () => {
    const out = await callOk<{ changed: boolean; addresses: { value: string }[] }>(
      t.mcp,
      'inbound_addresses',
      {
        action: 'remove',
        domain: `mail.${domain}`,
      },
    );
    expect(out.changed).toBe(true);
    expect(out.addresses.map((a) => a.value)).toEqual([`invoices@${domain}`]);
    const err = await smtpClient(smtp.port)
      .sendMail({ envelope: { from: 'a@remote.example', to: [`anyone@mail.${domain}`] }, raw: message('x') })
      .then(
        () => null,
        (e: { responseCode?: number }) => e,
      );
    expect(err?.responseCode).toBe(550);
    expect(await callError(t.mcp, 'inbound_addresses', { action: 'add' })).toBe(
      'InvalidInput: add needs exactly one of address or domain',
    );
    expect(await callError(t.mcp, 'inbound_addresses', { action: 'add', domain: 'not a domain' })).toContain(
      'domain must be a DNS name such as acme.example',
    );
  });
});
