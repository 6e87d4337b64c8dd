/**
 * The real-world corpus (tests/fixtures/corpus) parsed with the default limits must give exactly the fields
 * a careful reader sees in each message (tests/fixtures/corpus/expected.json, written by hand per message).
 * The malformed corpus (tests/fixtures/malformed) must give a correct parse or a readable failure type,
 * never a crash or a hang.
 */
import { describe, expect, it } from 'vitest';
import { type ParsedEmail, parseEmail } from '../../core/email.js';
import { UserFacingError } from '../../core/errors.js';
import {
  corpusBytes,
  corpusEntries,
  DEFAULT_PARSE_LIMITS,
  malformedBytes,
  malformedEntries,
} from '../fixtures/load-corpus.js';

describe('fixture corpus', () => {
  const entries = corpusEntries();

  it('has at least 40 messages, each with its expectations', () => {
    expect(entries.length).toBeGreaterThanOrEqual(40);
  });

  it.each(entries)('$file', async ({ file, expected }) => {
    const parsed = await parseEmail(corpusBytes(file), DEFAULT_PARSE_LIMITS);
    expect({
      subject: parsed.subject,
      from: parsed.from,
      to: parsed.to,
      cc: parsed.cc,
      bcc: parsed.bcc,
      replyTo: parsed.replyTo,
      sentAt: parsed.sentAt,
      messageId: parsed.messageId,
      inReplyTo: parsed.inReplyTo,
      hasHtml: parsed.htmlBody !== null,
      attachmentCount: parsed.attachmentCount,
    }).toEqual({
      subject: expected.subject,
      from: expected.from,
      to: expected.to,
      cc: expected.cc,
      bcc: expected.bcc,
      replyTo: expected.replyTo,
      sentAt: expected.sentAt,
      messageId: expected.messageId,
      inReplyTo: expected.inReplyTo,
      hasHtml: expected.hasHtml,
      attachmentCount: expected.attachmentCount,
    });
    expect(parsed.textBody).toContain(expected.textContains);
    if (expected.textContains2) expect(parsed.textBody).toContain(expected.textContains2);
    if (expected.textExcludes) expect(parsed.textBody).not.toContain(expected.textExcludes);
    if (expected.htmlContains) expect(parsed.htmlBody).toContain(expected.htmlContains);
    if (expected.references) expect(parsed.references).toEqual(expected.references);
    for (const [name, count] of Object.entries(expected.headerCounts ?? {})) {
      expect(parsed.headers[name], `header ${name}`).toHaveLength(count);
    }
    expect(parsed.keyBasis).toBe(expected.messageId ? 'message-id' : 'content');
  });
});

/** Generous for a 1.7 MB header bomb on a busy 2-core machine; what it bounds is a hang, not speed. */
const PARSE_BOUND_MS = 20_000;

describe('malformed corpus', () => {
  it.each(malformedEntries())('$file', { timeout: PARSE_BOUND_MS }, async ({ file, expected }) => {
    const outcome = await parseEmail(malformedBytes(file), DEFAULT_PARSE_LIMITS).then(
      (parsed) => ({ parsed }),
      (error: unknown) => ({ error }),
    );
    if (expected.outcome !== 'parsed') {
      expect(outcome).toHaveProperty('error');
      const error = (outcome as { error: unknown }).error;
      expect(error).toBeInstanceOf(UserFacingError);
      expect((error as UserFacingError).type).toBe(expected.outcome);
      expect((error as UserFacingError).message).toMatch(new RegExp(expected.messageMatches ?? ''));
      return;
    }
    expect(outcome, JSON.stringify(outcome)).toHaveProperty('parsed');
    const parsed = (outcome as { parsed: ParsedEmail }).parsed;
    if (expected.subject !== undefined) expect(parsed.subject).toBe(expected.subject);
    if (expected.subjectStartsWith) expect(parsed.subject?.startsWith(expected.subjectStartsWith)).toBe(true);
    if (expected.subjectEndsWith) expect(parsed.subject?.endsWith(expected.subjectEndsWith)).toBe(true);
    if (expected.fromAddress) expect(parsed.from[0]?.address).toBe(expected.fromAddress);
    if (expected.textBody === null) expect(parsed.textBody).toBeNull();
    if (expected.textContains) expect(parsed.textBody).toContain(expected.textContains);
    if (expected.textContains2) expect(parsed.textBody).toContain(expected.textContains2);
    if (expected.textHasReplacement) expect(parsed.textBody).toContain('\uFFFD');
    if (expected.attachmentCount !== undefined) expect(parsed.attachmentCount).toBe(expected.attachmentCount);
    // Whatever the input, nothing Postgres text cannot hold reaches a row.
    expect(JSON.stringify(parsed)).not.toContain('\\u0000');
  });
});
