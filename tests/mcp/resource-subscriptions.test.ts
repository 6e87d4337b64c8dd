/**
 * MCP resources and subscriptions at the door: real SDK clients over Streamable HTTP (sessions) and
 * stdio subscribe, and hear of a new email and its analysis from the outbox, without polling; another
 * tenant's session hears nothing; a session id is worth nothing with another token.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { searchAttribute, TenantId } from '../../workflows/search-attributes.js';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';
import { type Notifications, recordNotifications, uniqueMessage } from '../support/subscriptions.js';

interface InboxItem {
  emailId: string;
  status: string;
  category: string | null;
  priority: number | null;
}

async function readJson<T>(client: Client, uri: string): Promise<T> {
  const { contents } = await client.readResource({ uri });
  const first = contents[0] as { text: string; mimeType: string };
  expect(first.mimeType).toBe('application/json');
  return JSON.parse(first.text) as T;
}

describe('resources and subscriptions over Streamable HTTP', () => {
  const t = useHttpStack('member');
  let other: Client;
  let otherKey: string;
  let mine: Notifications;
  let theirs: Notifications;

  beforeAll(async () => {
    const org = await ensureOrganization(t.stack.sql, uniqueName('other'));
    otherKey = generateApiKey();
    await registerApiKey(t.stack.sql, org.id, uniqueName('key'), otherKey, 'member');
    other = await connectHttp(t.http.url, otherKey);
    mine = recordNotifications(t.mcp);
    theirs = recordNotifications(other);
  });
  afterAll(async () => {
    await other?.close();
  });

  it('declares subscribe and listChanged, and lists the resource templates', async () => {
    expect(t.mcp.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true });
    const { resourceTemplates } = await t.mcp.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate).sort()).toEqual([
      'email://{emailId}',
      'run://{workflowId}',
      'thread://{threadId}',
    ]);
    const { resources } = await t.mcp.listResources();
    expect(resources.map((r) => r.uri)).toContain('inbox://recent');
  });

  it('a subscriber hears of a new email and of its analysis; the other tenant hears nothing', async () => {
    await t.mcp.subscribeResource({ uri: 'inbox://recent' });
    await other.subscribeResource({ uri: 'inbox://recent' });
    const before = mine.updated.length;
    const raw = uniqueMessage('Portal down, urgent');
    const { emailId } = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', { raw });

    // Each notification makes the client read the inbox once: no timer polls the server.
    let seen: InboxItem | undefined;
    for (let n = 1; !(seen?.status === 'analyzed'); n++) {
      await mine.waitForUpdate('inbox://recent', before + n);
      const { emails } = await readJson<{ emails: InboxItem[] }>(t.mcp, 'inbox://recent');
      seen = emails.find((e) => e.emailId === emailId);
      expect(seen, 'the notified inbox shows the new email').toBeDefined();
    }
    expect(seen.category).toEqual(expect.any(String));
    expect(seen.priority).toEqual(expect.any(Number));
    expect(mine.listChanged).toBeGreaterThanOrEqual(1);

    // The email resource: the parsed email as JSON and the raw message, byte for byte.
    const { contents } = await t.mcp.readResource({ uri: `email://${emailId}` });
    expect(contents.map((c) => c.mimeType)).toEqual(['application/json', 'message/rfc822']);
    expect(JSON.parse((contents[0] as { text: string }).text)).toMatchObject({
      emailId,
      subject: 'Portal down, urgent',
      status: 'analyzed',
    });
    expect(Buffer.from((contents[1] as { blob: string }).blob, 'base64').toString('utf8')).toBe(raw);

    // The other tenant's session, subscribed to its own inbox, heard nothing of this.
    expect(theirs.updated).toEqual([]);
    expect(theirs.listChanged).toBe(0);
  });

  it('a thread subscription hears of a reply', async () => {
    const first = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', {
      raw: uniqueMessage('Thread start'),
    });
    const email = await readJson<{ threadId: string }>(t.mcp, `email://${first.emailId}`);
    const uri = `thread://${encodeURIComponent(email.threadId)}`;
    await t.mcp.subscribeResource({ uri });
    const reply = uniqueMessage('Re: Thread start')
      .replace('10:00:00', '11:00:00')
      .replace(
        'MIME-Version',
        `In-Reply-To: ${(await readJson<{ messageId: string }>(t.mcp, `email://${first.emailId}`)).messageId}\r\nMIME-Version`,
      );
    const before = mine.updated.filter((u) => u === uri).length;
    const second = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', { raw: reply });
    await mine.waitForUpdate(uri, before + 1);
    const thread = await readJson<{ emails: { emailId: string }[] }>(t.mcp, uri);
    expect(thread.emails.map((e) => e.emailId)).toEqual([first.emailId, second.emailId]);
  });

  it('another tenant cannot read or subscribe to this tenant’s email', async () => {
    const { emailId } = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', {
      raw: uniqueMessage('Private'),
    });
    // The SDK client prefixes "MCP error <code>: " once; the server's text is `Type: message`.
    const refused = {
      code: -32002,
      message: `MCP error -32002: NotFound: no email ${emailId} for this caller`,
    };
    await expect(other.readResource({ uri: `email://${emailId}` })).rejects.toMatchObject(refused);
    await expect(other.subscribeResource({ uri: `email://${emailId}` })).rejects.toMatchObject(refused);
  });

  it('a session id with another token reads as unknown (404)', async () => {
    const sessionId = (t.mcp.transport as StreamableHTTPClientTransport).sessionId;
    expect(sessionId).toEqual(expect.any(String));
    for (const method of ['POST', 'GET'] as const) {
      const res = await fetch(t.http.url, {
        method,
        headers: {
          authorization: `Bearer ${otherKey}`,
          'mcp-session-id': sessionId!,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: method === 'POST' ? JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }) : undefined,
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: 'session_not_found',
        message: 'no such session for this token: send initialize to open a new one',
      });
    }
  });

  it('a client that reconnects its stream with Last-Event-ID gets the notifications it missed', async () => {
    const key = generateApiKey();
    await registerApiKey(t.stack.sql, t.stack.defaultTenant.id, uniqueName('raw'), key, 'viewer');
    const headers: Record<string, string> = {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const post = async (body: unknown) => {
      const res = await fetch(t.http.url, { method: 'POST', headers, body: JSON.stringify(body) });
      await res.text();
      return res;
    };
    const init = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    headers['mcp-session-id'] = init.headers.get('mcp-session-id')!;
    headers['mcp-protocol-version'] = '2025-06-18';
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    await post({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'inbox://recent' } });

    const first = await openStream(t.http.url, headers);
    await callOk(t.mcp, 'ingest_email', { raw: uniqueMessage('While connected') });
    const seen = await first.next((e) => e.data.includes('notifications/resources/updated'));
    first.close();

    // Disconnected: this one is kept for the session, not lost.
    await callOk(t.mcp, 'ingest_email', { raw: uniqueMessage('While away') });
    await new Promise((r) => setTimeout(r, 1500));
    const again = await openStream(t.http.url, { ...headers, 'last-event-id': seen.id });
    // Replayed from the session's store: the stream resumes right after the last id the client saw
    // (a live event instead would come after the ones sent while it was away).
    const seq = (id: string) => Number(id.slice(id.lastIndexOf(':') + 1));
    const resumed = await again.next(() => true);
    expect(seq(resumed.id)).toBe(seq(seen.id) + 1);
    const missed = await again.next((e) => e.data.includes('notifications/resources/updated'));
    again.close();
    expect(JSON.parse(missed.data)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'inbox://recent' },
    });
    expect(missed.id).not.toBe(seen.id);
  });

  it('a request without a session is served statelessly, as before', async () => {
    const res = await fetch(t.http.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${otherKey}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBeNull();
    expect(await res.text()).toContain('ingest_email');
  });

  it('stateless requests reuse a server per principal, and each reads as itself', async () => {
    const mineKey = generateApiKey();
    await registerApiKey(t.stack.sql, t.stack.defaultTenant.id, uniqueName('key'), mineKey, 'member');
    const { emailId } = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', {
      raw: uniqueMessage('Stateless reader'),
    });
    const inbox = async (key: string, id: number) => {
      const res = await fetch(t.http.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'resources/read',
          params: { uri: 'inbox://recent' },
        }),
      });
      expect(res.status).toBe(200);
      return res.text();
    };
    const before = t.http.statelessServers();
    for (let i = 0; i < 3; i++) {
      expect(await inbox(mineKey, i)).toContain(emailId);
      expect(await inbox(otherKey, i)).not.toContain(emailId);
    }
    // Six requests one at a time, two principals: at most one server built for each, then reused.
    await new Promise((r) => setTimeout(r, 50));
    const after = t.http.statelessServers();
    expect(after.built - before.built).toBeGreaterThanOrEqual(1);
    expect(after.built - before.built).toBeLessThanOrEqual(2);
    expect(after.idle).toBeGreaterThanOrEqual(2);
  });
});

describe('resources and subscriptions over stdio', () => {
  const t = useStdioStack();
  let seen: Notifications;
  beforeAll(() => {
    seen = recordNotifications(t.mcp);
  });

  it('a stdio subscriber hears of a new email', async () => {
    await t.mcp.subscribeResource({ uri: 'inbox://recent' });
    const { emailId } = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', {
      raw: uniqueMessage('Over stdio'),
    });
    await seen.waitForUpdate('inbox://recent');
    const { emails } = await readJson<{ emails: InboxItem[] }>(t.mcp, 'inbox://recent');
    expect(emails.map((e) => e.emailId)).toContain(emailId);
  });

  it('a run subscriber hears of the run failing, and reads its failure', async () => {
    const workflowId = `email/${t.tenantId}/${'f'.repeat(64)}-${Date.now()}`;
    // Delayed, so the run exists (and may be subscribed to) before it fails.
    await t.stack.client.workflow.start('ingestEmailWorkflow', {
      taskQueue: t.stack.config.temporal.taskQueue,
      workflowId,
      args: [{ tenantId: t.tenantId, rawSha256: '0'.repeat(64), dedupKey: 'f'.repeat(64) }],
      typedSearchAttributes: [searchAttribute(TenantId, t.tenantId)],
      startDelay: '2 seconds',
    });
    const uri = `run://${encodeURIComponent(workflowId)}`;
    await t.mcp.subscribeResource({ uri });
    await seen.waitForUpdate(uri);
    const run = await readJson<{ status: string; failure: { type: string; message: string } }>(t.mcp, uri);
    expect(run.status).toBe('failed');
    expect(run.failure).toEqual({
      type: 'RawMessageMissing',
      message: `no staged raw message ${'0'.repeat(64)} for tenant ${t.tenantId}`,
    });
  });
});

interface SseEvent {
  id: string;
  data: string;
}

/** A GET SSE stream read event by event (`id:` and `data:` lines), for the resumption test. */
async function openStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const res = await fetch(url, { method: 'GET', headers, signal: abort.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const events: SseEvent[] = [];
  return {
    async next(match: (e: SseEvent) => boolean, timeoutMs = 20_000): Promise<SseEvent> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (Date.now() > end) throw new Error(`no matching SSE event (saw ${JSON.stringify(events)})`);
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffer += value;
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .filter((l) => l.startsWith(`${name}:`))
              .map((l) => l.slice(name.length + 1).trim())
              .join('\n');
          if (field('data')) events.push({ id: field('id'), data: field('data') });
        }
      }
    },
    close: () => abort.abort(),
  };
}
