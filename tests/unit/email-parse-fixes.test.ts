/**
 * Parser bugs the fixture corpus found (tests/fixtures/corpus), pinned down on their own.
 */
import { describe, expect, it } from 'vitest';
import { decodeC1AsWindows1252, parseEmail, sha256Hex } from '../../core/email.js';

const limits = { maxEmailBytes: 1_000_000 };
const crlf = (s: string) => s.replace(/\n/g, '\r\n');

describe('windows-1252 text', () => {
  it('maps the bytes 0x80-0x9F to what windows-1252 means by them, in subject, names and body', async () => {
    const head = crlf(
      'From: =?windows-1252?Q?=93Pat=94_Sales?= <pat@shop.example>\nTo: bob@example.org\n' +
        'Subject: =?windows-1252?Q?40=80_off_=96_today?=\n' +
        'Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: 8bit\n\n',
    );
    // "It’s 40€ – “today”…" in windows-1252 bytes.
    const body = [0x49, 0x74, 0x92, 0x73, 0x20, 0x34, 0x30, 0x80, 0x20, 0x96, 0x20, 0x93, 0x74, 0x6f];
    const raw = new Uint8Array([...Buffer.from(head, 'latin1'), ...body, 0x94, 0x85, 0x0d, 0x0a]);
    const parsed = await parseEmail(raw, limits);
    expect(parsed.subject).toBe('40€ off – today');
    expect(parsed.from).toEqual([{ name: '“Pat” Sales', address: 'pat@shop.example' }]);
    expect(parsed.textBody).toBe('It’s 40€ – “to”…');
  });

  it('leaves text without C1 controls alone and keeps the five undefined bytes', () => {
    expect(decodeC1AsWindows1252('Grüße, 中文 – “ok”')).toBe('Grüße, 中文 – “ok”');
    expect(decodeC1AsWindows1252('\u0081\u008d\u008f\u0090\u009d')).toBe('\u0081\u008d\u008f\u0090\u009d');
    expect(decodeC1AsWindows1252('\u0080\u009f')).toBe('€Ÿ');
  });
});

describe('From with several authors', () => {
  it('keeps every author, not only the first (RFC 5322 3.6.2)', async () => {
    const raw = new TextEncoder().encode(
      crlf(
        'From: Ann <ann@example.com>, =?UTF-8?Q?B=C3=A9n?= <BEN@example.com>\nSender: ann@example.com\n' +
          'Subject: joint\n\nbody\n',
      ),
    );
    const parsed = await parseEmail(raw, limits);
    expect(parsed.from).toEqual([
      { name: 'Ann', address: 'ann@example.com' },
      { name: 'Bén', address: 'ben@example.com' },
    ]);
  });
});

describe('raw 8-bit header text', () => {
  it('reads a header line that is not UTF-8 as windows-1252, keeps UTF-8 lines, and hashes the bytes as sent', async () => {
    const raw = Buffer.concat([
      // windows-1252 bytes: e9 = é, 96 = en dash.
      Buffer.from('From: Ren\xe9e <renee@example.fr>\r\nSubject: caf\xe9 \x96 10h\r\n', 'latin1'),
      Buffer.from('To: Zo\u00eb <zoe@example.se>\r\n\r\nbody\r\n', 'utf8'),
    ]);
    const parsed = await parseEmail(new Uint8Array(raw), limits);
    expect(parsed.from).toEqual([{ name: 'Renée', address: 'renee@example.fr' }]);
    expect(parsed.subject).toBe('café – 10h');
    expect(parsed.to).toEqual([{ name: 'Zoë', address: 'zoe@example.se' }]);
    expect(parsed.rawSha256).toBe(sha256Hex(raw));
    expect(parsed.sizeBytes).toBe(raw.byteLength);
  });
});

describe('HTML-only mail', () => {
  it('renders plain text with the words as written: headings keep their case', async () => {
    const raw =
      'From: news@example.com\r\nSubject: digest\r\nContent-Type: text/html; charset=utf-8\r\n\r\n' +
      '<h1>Top stories</h1><h3>Q3 Results</h3><p>Revenue is <b>up</b>.</p>' +
      '<table><tr><th>Region</th><th>Growth</th></tr><tr><td>EMEA</td><td>4%</td></tr></table>';
    const parsed = await parseEmail(Buffer.from(raw), limits);
    expect(parsed.textBody).toContain('Top stories');
    expect(parsed.textBody).toContain('Q3 Results');
    expect(parsed.textBody).toContain('Region');
    expect(parsed.textBody).not.toMatch(/TOP STORIES|Q3 RESULTS|REGION/);
  });
});
