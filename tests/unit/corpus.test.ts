/**
 * The real-world corpus (tests/fixtures/corpus) parsed with the default limits must give exactly the fields
 * a careful reader sees in each message (tests/fixtures/corpus/expected.json, written by hand per message).
 */
import { describe, expect, it } from 'vitest';
import { parseEmail } from '../../core/email.js';
import { corpusBytes, corpusEntries, DEFAULT_PARSE_LIMITS } from '../fixtures/load-corpus.js';

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
