/**
 * `npm start` as a user runs it: the whole stack comes up (its own Temporal dev server, embedded PGlite,
 * worker, MCP on HTTP), prints where everything is, ingests through the printed URL and API key, and
 * Ctrl-C stops it all with no process left behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { fixture } from '../support/harness.js';
import { CLI, connectHttp, ingestToEnd } from '../support/mcp-clients.js';

function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line && !line.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const CODEC_TOKEN = 'npm-start-codec-token-0123456789';

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  // The start waits up to 60 s for the banner; the test needs room beyond that for ingest and Ctrl-C. On
  // the shared 2-core machine, with the upload tests (30 MB uploads, worker processes) running beside it,
  // a start of 50-60 s happened, and the old 60 s test timeout cut the test off before its own wait did.
  it('brings up the stack, prints how to reach it, and stops cleanly on Ctrl-C', {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-start-'));
    child = spawn(process.execPath, [CLI, 'start'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_CLI_PATH: await resolveTemporalCli({ log: () => {} }),
        DURABLE_INBOX_DATA_DIR: dataDir,
        TEMPORAL_DEV_PORT: '0',
        TEMPORAL_DEV_UI_PORT: '0',
        MCP_HTTP_PORT: '0',
        CODEC_SERVER_PORT: '0',
        CODEC_SERVER_TOKEN: CODEC_TOKEN,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));

    for (let i = 0; i < 240 && !stdout.includes('Ctrl-C stops everything'); i++) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
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

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // The dev server ran in its own process group; it must be gone too.
    for (let i = 0; i < 40 && processesMentioning(dataDir).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});
