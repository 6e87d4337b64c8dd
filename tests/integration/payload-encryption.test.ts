/**
 * Issue 18, part 1, at the door: what the Temporal server holds for an ingested email is ciphertext
 * (read raw, by a client without the codec), the codec server (`durable-inbox codec-server`) decodes it
 * for a valid token only, a run started under key 1 completes and reads after rotating to [key 2, key 1],
 * and `durable-inbox find-run` finds a run by the sender's address although EmailFrom is a keyed hash.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { parseEmail } from '../../core/email.js';
import { stageContent } from '../../supabase/staged-content.js';
import { emailWorkflowId, ingestEmailContract } from '../../workflows/ingest-email.contract.js';
import { searchAttribute, TenantId } from '../../workflows/search-attributes.js';
import { rawHistoryText } from '../support/analysis.js';
import { fixture, fixtureBytes, runCli, startTestStack, testEnv } from '../support/harness.js';
import { CLI, callOk, connectStdio, ingestToEnd } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';

const SUBJECT = 'Quarterly report for Q3';
const SENDER = 'alice@example.com';
const MESSAGE_ID = 'q3-report.20261117@mail.example.com';
const MAIL_METADATA = [SUBJECT, SENDER, MESSAGE_ID, 'Revenue grew'];
const KEY_1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
const KEY_2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;
const TOKEN = 'codec-token-for-tests-0123456789';

interface IngestOut {
  workflowId: string;
  runId: string;
  emailId?: string;
  status: string;
}

type JsonPayload = { metadata: Record<string, string>; data: string; path: string };

/**
 * Where the SDK's core writes its own markers as plain JSON, outside the codec: a local activity's record
 * in `data` (seq, id, type, attempt, times; its `result` is encoded like every payload) and a patch's id
 * in `patch-data`. Never mail: the text check above reads them too.
 */
const SDK_MARKER_DATA = /markerRecordedEventAttributes\.details\.(data|patch-data)\.payloads\.\d+$/;

/**
 * Every payload of a history in the codec protocol's JSON form, search attributes aside (they are the
 * server's index, never encoded; the test reads them apart).
 */
function historyPayloads(history: unknown): JsonPayload[] {
  const found: JsonPayload[] = [];
  const walk = (node: unknown, key?: string, at = '') => {
    if (node === null || typeof node !== 'object' || key === 'searchAttributes') return;
    const record = node as Record<string, unknown>;
    if ('metadata' in record && 'data' in record && record.data) {
      const p = record as unknown as Payload;
      found.push({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
        ),
        data: Buffer.from(p.data!).toString('base64'),
        path: at,
      });
    }
    for (const [k, value] of Object.entries(record)) walk(value, k, at ? `${at}.${k}` : k);
  };
  walk(history);
  return found;
}

const keyIdOf = (p: JsonPayload) => Buffer.from(p.metadata['encryption-key-id'] ?? '', 'base64').toString();
const encodingOf = (p: JsonPayload) => Buffer.from(p.metadata.encoding ?? '', 'base64').toString();

describe('payloads on a shared Temporal', () => {
  const t = useStdioStack(() => testEnv({ PAYLOAD_ENCRYPTION_KEYS: KEY_1 }));
  let out: IngestOut;
  let raw: Client;

  beforeAll(async () => {
    out = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('quarterly-report.eml') });
    // The same server, no data converter: what anyone with access to Temporal (or its UI) reads.
    raw = new Client({ connection: t.stack.client.connection, namespace: t.stack.temporal.namespace });
  });

  it('are ciphertext in the history, the summary and the details: no subject, sender or Message-ID', async () => {
    expect(out.status).toBe('completed');
    const history = await raw.workflow.getHandle(out.workflowId, out.runId).fetchHistory();
    const text = rawHistoryText(history);
    for (const clear of MAIL_METADATA) expect(text).not.toContain(clear);
    const payloads = historyPayloads(history);
    expect(payloads.length).toBeGreaterThan(3);
    // The local steps' results (markers' `result`) are ciphertext like every other payload.
    expect(payloads.some((p) => /markerRecordedEventAttributes\.details\.result\./.test(p.path))).toBe(true);
    for (const p of payloads) {
      if (SDK_MARKER_DATA.test(p.path) && encodingOf(p) === 'json/plain') continue;
      const shown =
        encodingOf(p) === 'binary/encrypted' ? '' : Buffer.from(p.data, 'base64').toString().slice(0, 300);
      expect(`${p.path}: ${encodingOf(p)}${shown}`).toBe(`${p.path}: binary/encrypted`);
      expect(keyIdOf(p)).toBe('k1');
    }
    const description = await raw.workflow.getHandle(out.workflowId, out.runId).describe();
    const metadata = description.raw.executionConfig?.userMetadata;
    for (const p of [metadata?.summary, metadata?.details]) {
      expect(Buffer.from(p!.metadata!.encoding!).toString()).toBe('binary/encrypted');
      expect(Buffer.from(p!.data!).toString()).not.toContain(SUBJECT);
    }
    // Through the codec (the stack's client) the summary reads as before.
    const decoded = await t.stack.client.workflow.getHandle(out.workflowId, out.runId).describe();
    expect(await decoded.staticSummary()).toBe(`Ingest "${SUBJECT}" from ${SENDER}`);
    // The workflow's current details (a query answer) are encrypted too.
    const answer = await t.stack.client.connection.workflowService.queryWorkflow({
      namespace: t.stack.temporal.namespace,
      execution: { workflowId: out.workflowId, runId: out.runId },
      query: { queryType: '__temporal_workflow_metadata' },
    });
    const [result] = answer.queryResult?.payloads ?? [];
    expect(Buffer.from(result!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(result!.data!).toString()).not.toContain(SUBJECT);
  });

  it('search attributes hold keyed hashes, and find-run finds the run by the sender', async () => {
    const description = await raw.workflow.getHandle(out.workflowId, out.runId).describe();
    const attributes = JSON.stringify(description.raw.workflowExecutionInfo?.searchAttributes);
    for (const clear of MAIL_METADATA) expect(attributes).not.toContain(clear);

    const args = ['find-run', '--from', 'Alice@Example.com', '--tenant', t.tenantId];
    let found = await runCli(args, t.env);
    // Visibility follows the run by a moment.
    for (let i = 0; i < 20 && !found.stdout.includes(out.runId); i++) {
      await new Promise((r) => setTimeout(r, 250));
      found = await runCli(args, t.env);
    }
    expect(found.code).toBe(0);
    expect(found.stdout).toContain(out.runId);
    const [command, ...lines] = found.stdout.trim().split('\n');
    expect(command).toMatch(
      new RegExp(
        `^temporal workflow list --namespace default --query 'TenantId = "${t.tenantId}" AND EmailFrom = "hmac:[0-9a-f]{64}"'$`,
      ),
    );
    expect(
      lines.find((l) => l.startsWith(`${out.workflowId}  ${out.runId}  ingestEmailWorkflow  COMPLETED`)),
    ).toBeTruthy();
    expect(found.stdout).not.toContain(SENDER);

    const byId = await runCli(['find-run', '--message-id', `<${MESSAGE_ID}>`, '--tenant', t.tenantId], t.env);
    expect(byId.stdout).toContain(`${out.workflowId}  ${out.runId}`);
    expect((await runCli(['find-run'], t.env)).stderr).toBe(
      'durable-inbox: find-run: give --from <address> or --message-id <id>\n',
    );
  });

  it("a failure's message and stack are ciphertext in the history; the caller still reads them", async () => {
    // KeyMismatch names the key the worker derived from the message: text that only the failure holds.
    const bytes = fixtureBytes('quarterly-report.eml');
    const parsed = await parseEmail(bytes, loadConfig(t.env).limits);
    await stageContent(t.stack.sql, t.tenantId, parsed.rawSha256, bytes);
    const workflowId = emailWorkflowId(t.tenantId, 'mid:another-key@example.com');
    const handle = await t.stack.client.workflow.start(ingestEmailContract.workflowType, {
      workflowId,
      taskQueue: t.stack.config.temporal.taskQueue,
      args: [{ tenantId: t.tenantId, rawSha256: parsed.rawSha256, dedupKey: 'mid:another-key@example.com' }],
      typedSearchAttributes: [searchAttribute(TenantId, t.tenantId)],
    });
    await expect(handle.result()).rejects.toThrow();

    const history = await raw.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
    expect(rawHistoryText(history)).not.toContain(parsed.dedupKey);
    const failed = history.events?.find((e) => e.workflowExecutionFailedEventAttributes);
    const failure = failed?.workflowExecutionFailedEventAttributes?.failure;
    expect(failure?.message).toBe('Encoded failure');
    expect(failure?.stackTrace ?? '').toBe('');
    expect(Buffer.from(failure!.encodedAttributes!.metadata!.encoding!).toString()).toBe('binary/encrypted');

    // At the door, through the codec: the type and the message as the activity wrote them.
    const run = await callOk<{ status: string; failure?: { type: string; message: string } }>(
      t.mcp,
      'get_workflow',
      { workflowId },
    );
    expect(run.status).toBe('failed');
    expect(run.failure).toEqual({
      type: 'KeyMismatch',
      message: `the worker derived key ${parsed.dedupKey}, the caller mid:another-key@example.com`,
    });
  });

  describe('the codec server', () => {
    let server: ChildProcess;
    let url: string;

    beforeAll(async () => {
      server = spawn(process.execPath, [CLI, 'codec-server'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          ...t.env,
          CODEC_SERVER_PORT: '0',
          CODEC_SERVER_TOKEN: TOKEN,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      url = await new Promise<string>((resolve, reject) => {
        server.stdout!.on('data', (d: Buffer) => {
          const match = /codec server (http:\/\/\S+)/.exec(d.toString());
          if (match) resolve(match[1]!);
        });
        server.once('exit', (code) => reject(new Error(`codec-server exited (${code})`)));
      });
    });
    afterAll(() => {
      server?.kill('SIGTERM');
    });

    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    it('decodes the history with a valid token, and refuses without one or with a wrong one', async () => {
      const history = await raw.workflow.getHandle(out.workflowId, out.runId).fetchHistory();
      const payloads = historyPayloads(history);

      const none = await post('/decode', { payloads });
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({ error: 'a token is required: Authorization: Bearer <token>' });
      const wrong = await post('/decode', { payloads }, { Authorization: 'Bearer not-the-token' });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: 'the token is not valid' });

      const ok = await post(
        '/decode',
        { payloads },
        { Authorization: `Bearer ${TOKEN}`, 'X-Namespace': 'default' },
      );
      expect(ok.status).toBe(200);
      const decoded = (await ok.json()) as { payloads: JsonPayload[] };
      expect(decoded.payloads).toHaveLength(payloads.length);
      const text = decoded.payloads.map((p) => Buffer.from(p.data, 'base64').toString()).join('\n');
      expect(text).toContain(SUBJECT);
      expect(decoded.payloads.map(encodingOf)).not.toContain('binary/encrypted');
      expect(decoded.payloads.map(encodingOf)).toContain('json/plain');

      // The token as the endpoint's first path segment: what `--ui-codec-endpoint` is given.
      const byPath = await post(`/${TOKEN}/decode`, { payloads: payloads.slice(0, 1) });
      expect(byPath.status).toBe(200);
      expect(await post('/wrong-token/decode', { payloads })).toHaveProperty('status', 401);
    });

    it('encodes under the current key, round trip', async () => {
      const plain = {
        metadata: { encoding: Buffer.from('json/plain').toString('base64') },
        data: Buffer.from('"hi"').toString('base64'),
      };
      const encoded = (await (
        await post('/encode', { payloads: [plain] }, { Authorization: `Bearer ${TOKEN}` })
      ).json()) as {
        payloads: JsonPayload[];
      };
      expect(keyIdOf(encoded.payloads[0]!)).toBe('k1');
      const back = (await (await post('/decode', encoded, { Authorization: `Bearer ${TOKEN}` })).json()) as {
        payloads: JsonPayload[];
      };
      expect(back.payloads).toEqual([plain]);
    });

    it('answers the Web UI preflight from its origin, and refuses other origins', async () => {
      const preflight = await fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'http://localhost:8233',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
      expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
      expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
      expect(preflight.headers.get('access-control-allow-headers')).toBe(
        'Authorization, Content-Type, X-Namespace',
      );
      const cloud = await post(
        '/decode',
        { payloads: [] },
        { Origin: 'https://cloud.temporal.io', Authorization: `Bearer ${TOKEN}` },
      );
      expect(cloud.status).toBe(200);
      expect(cloud.headers.get('access-control-allow-origin')).toBe('https://cloud.temporal.io');
      const evil = await post(
        '/decode',
        { payloads: [] },
        { Origin: 'https://evil.example', Authorization: `Bearer ${TOKEN}` },
      );
      expect(evil.status).toBe(403);
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('refuses without a token configured, naming the variable', async () => {
      const started = await runCli(['codec-server'], { ...t.env, CODEC_SERVER_PORT: '0' });
      expect(started.code).toBe(2);
      expect(started.stderr).toBe(
        'durable-inbox: codec-server needs CODEC_SERVER_TOKEN (e.g. openssl rand -hex 24)\n',
      );
    });
  });
});

describe('rotating the payload key', () => {
  it('a run started under key 1 completes under the ring [key 2, key 1], and its history still reads', async () => {
    const env = testEnv({ PAYLOAD_ENCRYPTION_KEYS: KEY_1 });
    // The stdio entry on a shared Temporal runs no worker: the run waits for one, its input under key 1.
    const mcp = await connectStdio(env);
    const started = await ingestToEnd<IngestOut>(mcp, {
      raw: fixture('quarterly-report.eml'),
      wait: false,
    });
    await mcp.close();
    const rotated = await startTestStack({ ...env, PAYLOAD_ENCRYPTION_KEYS: `${KEY_2},${KEY_1}` });
    try {
      const handle = rotated.client.workflow.getHandle(started.workflowId, started.runId);
      const result = (await handle.result()) as { subject: string };
      expect(result.subject).toBe(SUBJECT);
      const history = await handle.fetchHistory();
      const ids = historyPayloads(history).map(keyIdOf);
      expect(ids[0]).toBe('k1');
      expect(ids).toContain('k2');
      expect(await (await handle.describe()).staticSummary()).toBe(`Ingest "${SUBJECT}" from ${SENDER}`);

      // Key 1 retired too early: the old run's payloads no longer read, and the error says why.
      const onlyNew = await startTestStack({ ...env, PAYLOAD_ENCRYPTION_KEYS: KEY_2 }, false);
      try {
        await expect(
          onlyNew.client.workflow
            .getHandle(started.workflowId, started.runId)
            .describe()
            .then((d) => d.staticSummary()),
        ).rejects.toThrow('payload encrypted under key "k1", which is not in PAYLOAD_ENCRYPTION_KEYS');
      } finally {
        await onlyNew.shutdown();
      }
    } finally {
      await rotated.shutdown();
    }
  });
});
