/**
 * Against an existing cluster the app registers its search attributes through the operator service.
 * A fresh namespace on the real dev server starts without them.
 */
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { ensureSearchAttributes, searchAttributeCreateCommand } from '../../temporal/search-attributes.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { uniqueName } from '../support/harness.js';

describe('ensureSearchAttributes', () => {
  let connection: Connection;
  const namespace = uniqueName('sa-ns');

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
  });
  afterAll(() => connection?.close());

  it('adds the missing ones, then has nothing to add', async () => {
    const client = new Client({ connection, namespace });
    const names = SEARCH_ATTRIBUTES.map((k) => k.name);
    // A just-registered namespace can take a moment to be served by every service.
    let added: string[] = [];
    for (let i = 0; i < 40 && added.length === 0; i++) {
      added = await ensureSearchAttributes(client, createLogger('error'));
      if (added.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(added.sort()).toEqual([...names].sort());
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    for (const name of names) expect(customAttributes[name]).toBeDefined();
    expect(await ensureSearchAttributes(client, createLogger('error'))).toEqual([]);
  });

  it('prints the exact command when it may not add them', () => {
    expect(searchAttributeCreateCommand('prod', ['TenantId', 'EmailFrom'])).toBe(
      'temporal operator search-attribute create --namespace prod --name TenantId --type Keyword --name EmailFrom --type Keyword',
    );
  });
});
