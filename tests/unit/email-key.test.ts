import { describe, expect, it } from 'vitest';
import {
  decodeRawEmail,
  deriveEmailKey,
  normaliseMessageId,
  parseEmail,
  sha256Hex,
} from '../../core/email.js';
import { UserFacingError } from '../../core/errors.js';
import { emailWorkflowId } from '../../workflows/ingest-email.contract.js';

const limits = { maxEmailBytes: 1_000_000 };
const encode = (s: string) => new TextEncoder().encode(s);
const message = (headers: string, body = 'Hello\r\n') =>
  encode(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body}`);

describe('normaliseMessageId', () => {
  it.each([
    ['<abc@example.com>', 'abc@example.com'],
    ['  <abc@example.com>  ', 'abc@example.com'],
    ['abc@example.com', 'abc@example.com'],
    ['<abc@example.com> (comment)', 'abc@example.com'],
    ['<>', null],
    ['', null],
    [undefined, null],
  ])('%j → %j', (input, expected) => {
    expect(normaliseMessageId(input)).toBe(expected);
  });
});

describe('deriveEmailKey', () => {
  const content = {
    from: [{ name: null, address: 'a@example.com' }],
    to: [],
    cc: [],
    subject: 'Hi',
    sentAt: null,
    textBody: 'Body',
    htmlBody: null,
  };

  it('uses the Message-ID when there is one', () => {
    expect(deriveEmailKey('x@y', content)).toEqual({
      dedupKey: sha256Hex('message-id:x@y'),
      keyBasis: 'message-id',
    });
    expect(deriveEmailKey('x@y', { ...content, subject: 'other' }).dedupKey).toBe(
      sha256Hex('message-id:x@y'),
    );
  });

  it('falls back to a hash of normalised content', () => {
    const key = deriveEmailKey(null, content);
    expect(key.keyBasis).toBe('content');
    expect(key.dedupKey).toMatch(/^[0-9a-f]{64}$/);
    expect(deriveEmailKey(null, { ...content, textBody: 'Body  \r\n' }).dedupKey).toBe(key.dedupKey);
    expect(deriveEmailKey(null, { ...content, textBody: 'Body!' }).dedupKey).not.toBe(key.dedupKey);
    expect(deriveEmailKey(null, { ...content, subject: 'Hi again' }).dedupKey).not.toBe(key.dedupKey);
  });

  it('gives the same key to the same message however it was transported', async () => {
    const headers =
      'From: a@example.com\nTo: b@example.com\nSubject: Same\nDate: Mon, 23 Nov 2026 10:00:00 +0000';
    const crlf = await parseEmail(message(headers, 'Line one\r\nLine two\r\n'), limits);
    const lf = await parseEmail(encode(`${headers}\n\nLine one\nLine two\n`), limits);
    const withTrace = await parseEmail(
      message(`Received: from mx.example.com\n${headers}`, 'Line one\r\nLine two\r\n'),
      limits,
    );
    const qp = await parseEmail(
      message(`${headers}\nContent-Transfer-Encoding: quoted-printable`, 'Line=20one\r\nLine two\r\n'),
      limits,
    );
    expect(new Set([crlf.dedupKey, lf.dedupKey, withTrace.dedupKey, qp.dedupKey]).size).toBe(1);
    expect(crlf.rawSha256).not.toBe(lf.rawSha256);
  });

  it('names workflows by tenant and key', () => {
    expect(emailWorkflowId('t1', 'k'.repeat(64))).toBe(`email/t1/${'k'.repeat(64)}`);
  });
});

describe('parseEmail validation', () => {
  const rejects = async (raw: Uint8Array, type: string, text: RegExp, max = limits.maxEmailBytes) => {
    const err = await parseEmail(raw, { maxEmailBytes: max }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserFacingError);
    expect(err).toMatchObject({ type, message: expect.stringMatching(text) });
  };

  it('rejects empty, oversized, headerless, binary and sender-less input', async () => {
    await rejects(new Uint8Array(), 'InvalidEmail', /empty/);
    await rejects(message('From: a@example.com'), 'EmailTooLarge', /over the 10-byte limit/, 10);
    await rejects(encode('hello world'), 'InvalidEmail', /does not start with a header field/);
    await rejects(encode('From: a@b.c\0\r\n\r\n'), 'InvalidEmail', /NUL/);
    await rejects(message('Subject: x'), 'InvalidEmail', /no From address/);
  });

  it('flags a missing date and keeps duplicate headers in order', async () => {
    const parsed = await parseEmail(message('From: a@example.com\nX-Tag: one\nX-Tag: two'), limits);
    expect(parsed.sentAt).toBeNull();
    expect(parsed.headers['x-tag']).toEqual(['one', 'two']);
    expect(parsed.messageId).toBeNull();
  });

  it('decodes base64 input and refuses invalid base64', () => {
    expect(
      new TextDecoder().decode(decodeRawEmail(Buffer.from('From: a').toString('base64'), 'base64')),
    ).toBe('From: a');
    expect(() => decodeRawEmail('@@@', 'base64')).toThrow(/not valid base64/);
  });
});

describe('thread keys', () => {
  it('normalises reply prefixes in many languages', async () => {
    const { normaliseSubject } = await import('../../core/threading.js');
    expect(normaliseSubject('Re: RE[2]: Fwd:  Budget   2027 ')).toBe('budget 2027');
    expect(normaliseSubject('AW: SV: Réf : Budget')).toBe('budget');
    expect(normaliseSubject(null)).toBe('');
  });

  it('matches by subject only for a reply without references', async () => {
    const { threadKeys } = await import('../../core/threading.js');
    const base = { dedupKey: 'k', inReplyTo: null, references: [] as string[] };
    expect(threadKeys({ ...base, messageId: 'a@x', subject: 'Hello' })).toEqual({
      threadKeys: ['mid:a@x', 'subj:hello'],
      threadMatchKeys: ['mid:a@x'],
    });
    expect(threadKeys({ ...base, messageId: 'b@x', subject: 'Re: Hello' }).threadMatchKeys).toEqual([
      'mid:b@x',
      'subj:hello',
    ]);
    expect(
      threadKeys({ ...base, messageId: 'c@x', subject: 'Re: Hello', inReplyTo: 'a@x' }).threadMatchKeys,
    ).toEqual(['mid:c@x', 'mid:a@x']);
    expect(threadKeys({ ...base, messageId: null, subject: '' }).threadKeys).toEqual(['key:k']);
  });
});
