/**
 * `npm start` with SMTP_INBOUND_PORT set, end to end as a user runs it: the banner prints the listener
 * and the local address to mail, a real SMTP client (nodemailer) delivers there, and the email is found
 * over MCP with the printed URL and API key; Ctrl-C stops the listener with the rest.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { message, smtpClient } from '../support/inbound.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';
import { processesMentioning, type RunningStart, startNpmStart, stopNpmStart } from '../support/npm-start.js';

describe('npm start with inbound SMTP', () => {
  let start: RunningStart | undefined;
  afterAll(() => {
    start?.child.kill('SIGKILL');
  });

  it('accepts mail on the printed port and stores it where MCP finds it', { timeout: 240_000 }, async () => {
    start = await startNpmStart({ SMTP_INBOUND_PORT: '0' });
    const stdout = start.stdout();
    expect(stdout).toContain('durable-inbox is running');
    const smtpAt = /SMTP \(inbound\)\s+127\.0\.0\.1:(\d+)/.exec(stdout);
    expect(smtpAt).not.toBeNull();
    const domain = /mail to \*@(\S+) reaches/.exec(stdout)?.[1];
    expect(domain).toMatch(/^[a-z0-9-]+\.localhost$/);
    const mcpUrl = /MCP \(HTTP\)\s+(\S+)/.exec(stdout)?.[1];
    const apiKey = /API key\s+(di_\S+)/.exec(stdout)?.[1];

    const to = `someone@${domain}`;
    const sender = smtpClient(Number(smtpAt![1]));
    const sent = await sender.sendMail({
      envelope: { from: 'a@remote.example', to: [to] },
      raw: message('npm-start-smtp', { to, subject: 'Delivered by SMTP to npm start' }),
    });
    sender.close();
    expect(sent.response).toMatch(/^250 /);

    const mcp = await connectHttp(mcpUrl!, apiKey!);
    try {
      let found: { total: number; results: { subject: string | null }[] } = { total: 0, results: [] };
      for (let i = 0; i < 240 && found.total === 0; i++) {
        found = await callOk(mcp, 'search_emails', { query: 'Delivered SMTP' });
        if (found.total === 0) await new Promise((r) => setTimeout(r, 250));
      }
      expect(found.results.map((r) => r.subject)).toEqual(['Delivered by SMTP to npm start']);
    } finally {
      await mcp.close();
    }

    expect(await stopNpmStart(start)).toBe(0);
    expect(processesMentioning(start.dataDir)).toEqual([]);
  });
});
