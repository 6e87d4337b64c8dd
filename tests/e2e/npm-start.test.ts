/**
 * `npm start` as a user runs it: the whole stack comes up (its own Temporal dev server, embedded PGlite,
 * worker, MCP on HTTP), prints where everything is, ingests through the printed URL and API key, and
 * Ctrl-C stops it all with no process left behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fixture } from '../support/harness.js';
import { connectHttp, ingestToEnd } from '../support/mcp-clients.js';
import { processesMentioning, type RunningStart, startNpmStart, stopNpmStart } from '../support/npm-start.js';

const CODEC_TOKEN = 'npm-start-codec-token-0123456789';

describe('npm start', () => {
  let start: RunningStart | undefined;
  afterAll(() => {
    start?.child.kill('SIGKILL');
  });

  // The start waits up to 120 s for the banner; the test needs room beyond that for ingest and Ctrl-C. On
  // the shared 2-core machine, with the upload tests (30 MB uploads, worker processes) running beside it,
  // starts of 50-60 s happened, and over 60 s at a load average of 20.
  it('brings up the stack, prints how to reach it, and stops cleanly on Ctrl-C', {
    timeout: 180_000,
  }, async () => {
    start = await startNpmStart({ CODEC_SERVER_TOKEN: CODEC_TOKEN });
    const stdout = start.stdout();
    const { dataDir } = start;
    expect(stdout).toContain('durable-inbox is running');
    const mcpUrl = /MCP \(HTTP\)\s+(\S+)/.exec(stdout)?.[1];
    const apiKey = /API key\s+(di_\S+)/.exec(stdout)?.[1];
    expect(stdout).toMatch(/Temporal Web UI\s+http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
    expect(stdout).toContain(`embedded PGlite (${dataDir}/pglite)`);
    expect(stdout).toMatch(/"command": "npx",\s*"args": \[\s*"durable-inbox",\s*"mcp",\s*"--stdio"\s*\]/);
    expect(mcpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    // The dev server's Web UI decodes through the codec server, which the banner prints.
    const codecUrl = /Codec server\s+(http:\/\/\S+)/.exec(stdout)?.[1];
    expect(codecUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(
      processesMentioning(dataDir).some((p) => p.includes(`--ui-codec-endpoint ${codecUrl}/${CODEC_TOKEN}`)),
    ).toBe(true);
    const metricsUrl = /Metrics\s+(http:\/\/\S+)/.exec(stdout)?.[1];
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(processesMentioning(dataDir).some((p) => p.includes('server start-dev'))).toBe(true);

    const mcp = await connectHttp(mcpUrl!, apiKey!);
    const out = await ingestToEnd<{ status: string; emailId: string }>(mcp, {
      raw: fixture('quarterly-report.eml'),
    });
    await mcp.close();
    expect(out.status).toBe('completed');
    const scrape = await (await fetch(metricsUrl!)).text();
    expect(scrape).toContain('durable_inbox_emails_ingested_total{source="mcp",tenant="all"} 1');
    // The SDK's own series, from the in-process worker, on the same scrape.
    expect(scrape).toMatch(/^temporal_\w+/m);

    expect(await stopNpmStart(start)).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});
