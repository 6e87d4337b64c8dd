import { describe, expect, it } from 'vitest';
import { parseEmail } from '../../core/email.js';
import { UserFacingError } from '../../core/errors.js';

const encode = (s: string) => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));
const limits = { maxEmailBytes: 10_000_000, maxAttachments: 2, maxHeaderBytes: 64 * 1024, maxMimeDepth: 10 };

async function failure(raw: Uint8Array) {
  const err = await parseEmail(raw, limits).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UserFacingError);
  return err as UserFacingError;
}

function nested(depth: number): string {
  let body = 'Content-Type: text/plain\n\ninnermost\n';
  for (let i = depth; i > 0; i--) {
    body = `Content-Type: multipart/mixed; boundary="b${i}"\n\n--b${i}\n${body}--b${i}--\n`;
  }
  return `From: a@example.com\nSubject: deep\n${body}`;
}

function withAttachments(n: number): string {
  const parts = Array.from(
    { length: n },
    (_, i) =>
      `--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="f${i}.bin"\nContent-Transfer-Encoding: base64\n\nAAEC\n`,
  );
  return `From: a@example.com\nSubject: files\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n${parts.join('')}--b--\n`;
}

describe('parse limits', () => {
  it('rejects MIME nested deeper than the limit, and accepts it within', async () => {
    const err = await failure(encode(nested(40)));
    expect(err.type).toBe('MimeTooDeep');
    expect(err.message).toMatch(/nesting depth of 10 .*\(MAX_MIME_DEPTH\)/);
    await expect(parseEmail(encode(nested(5)), limits)).resolves.toMatchObject({ textBody: 'innermost' });
  });

  it('rejects header bombs', async () => {
    const bomb = `From: a@example.com\n${Array.from({ length: 2000 }, (_, i) => `X-Pad-${i}: ${'a'.repeat(60)}`).join('\n')}\n\nbody\n`;
    const err = await failure(encode(bomb));
    expect(err.type).toBe('HeadersTooLarge');
    expect(err.message).toMatch(/MAX_HEADER_BYTES/);
  });

  it('rejects too many attachments', async () => {
    const err = await failure(encode(withAttachments(3)));
    expect(err).toMatchObject({ type: 'TooManyAttachments' });
    expect(err.message).toBe('the message has 3 attachments, over the limit of 2 (MAX_ATTACHMENTS)');
    await expect(parseEmail(encode(withAttachments(2)), limits)).resolves.toMatchObject({
      attachmentCount: 2,
    });
  });
});

describe('HTML bodies', () => {
  const htmlOnly = (html: string) =>
    encode(`From: a@example.com\nSubject: html\nContent-Type: text/html; charset=utf-8\n\n${html}\n`);

  it('sanitises HTML and renders text when there is no text part', async () => {
    const parsed = await parseEmail(
      htmlOnly(
        '<html><head><style>body{background:url(https://t.example/px)}</style></head><body>' +
          '<h1>Invoice</h1><p onclick="steal()">Total <b>42 EUR</b></p>' +
          '<script>alert(1)</script><a href="javascript:alert(1)">click</a>' +
          '<a href="https://pay.example/inv/7">Pay now</a><img src="cid:logo@x" alt="logo">' +
          '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input></form>' +
          '</body></html>',
      ),
      limits,
    );
    const html = parsed.htmlBody!;
    expect(html).not.toMatch(/script|onclick|javascript:|iframe|<form|<style|background/i);
    expect(html).toContain('<b>42 EUR</b>');
    expect(html).toContain('<img src="cid:logo@x" alt="logo" />');
    expect(html).toContain(
      '<a href="https://pay.example/inv/7" rel="noopener noreferrer nofollow">Pay now</a>',
    );
    expect(parsed.textBody).toContain('Invoice');
    expect(parsed.textBody).toContain('Total 42 EUR');
    expect(parsed.textBody).toContain('Pay now [https://pay.example/inv/7]');
    expect(parsed.textBody).not.toContain('alert');
  });

  it('keeps the text part when there is one', async () => {
    const raw = encode(
      'From: a@example.com\nSubject: alt\nContent-Type: multipart/alternative; boundary="x"\n\n' +
        '--x\nContent-Type: text/plain\n\nplain words\n--x\nContent-Type: text/html\n\n<p>html words</p>\n--x--\n',
    );
    const parsed = await parseEmail(raw, limits);
    expect(parsed.textBody).toBe('plain words');
    expect(parsed.htmlBody).toBe('<p>html words</p>');
  });
});
