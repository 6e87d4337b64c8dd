/**
 * The one rule for search attribute values and run summaries: hashed or cut, always within Temporal's
 * limits, never splitting a character, and the hash is the SHA-256 an operator computes with sha256sum.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256HexOfText, utf8Length } from '../../core/utf8-sha256.js';
import {
  cutChars,
  cutText,
  EmailFrom,
  IngestStatus,
  MessageId,
  searchAttributeValue,
  summaryText,
  ThreadId,
} from '../../workflows/search-attributes.js';

const nodeSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text), 'utf8');

describe('sha256HexOfText (workflow-safe)', () => {
  it('matches node:crypto on every padding length and on any Unicode', () => {
    for (let n = 0; n < 200; n++) expect(sha256HexOfText('x'.repeat(n))).toBe(nodeSha256('x'.repeat(n)));
    for (const text of ['', 'abc', 'é', '€', '📈', 'a\ud800b', '\udc00', 'm'.repeat(100_000)]) {
      expect(sha256HexOfText(text)).toBe(nodeSha256(text));
      expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
    }
  });
});

describe('searchAttributeValue', () => {
  it('keeps short equality-searched values and hashes long ones', () => {
    const short = 'alice@example.com';
    expect(searchAttributeValue(EmailFrom, short)).toBe(short);
    const edge = 'a'.repeat(256);
    expect(searchAttributeValue(MessageId, edge)).toBe(edge);
    const long = 'a'.repeat(257);
    expect(searchAttributeValue(MessageId, long)).toBe(`sha256:${nodeSha256(long)}`);
    // Bytes, not characters: 100 emoji are 400 bytes.
    const emoji = '📈'.repeat(100);
    expect(searchAttributeValue(ThreadId, emoji)).toBe(`sha256:${nodeSha256(emoji)}`);
    // A value that looks like a hash is hashed too, so a hash always means "hashed".
    const fake = `sha256:${'0'.repeat(64)}`;
    expect(searchAttributeValue(EmailFrom, fake)).toBe(`sha256:${nodeSha256(fake)}`);
  });

  it('cuts other attributes to fit', () => {
    expect(searchAttributeValue(IngestStatus, 'stored')).toBe('stored');
    const cut = searchAttributeValue(IngestStatus, '"\n'.repeat(5000));
    expect(jsonBytes(cut)).toBeLessThanOrEqual(1024);
    expect(cut.endsWith('…')).toBe(true);
  });
});

describe('cutText and summaryText', () => {
  it('cut by encoded bytes at a character boundary', () => {
    expect(cutText('short', 100)).toBe('short');
    for (let max = 6; max < 40; max++) {
      const cut = cutText('📈'.repeat(50), max);
      expect(jsonBytes(cut)).toBeLessThanOrEqual(max);
      expect(cut).toMatch(/^(📈)*…$/u);
    }
    const summary = summaryText(`Ingest "${'é'.repeat(1000)}"`);
    expect(jsonBytes(summary)).toBeLessThanOrEqual(350);
    expect(jsonBytes(summary)).toBeGreaterThan(340);
  });

  it('cutChars counts code points', () => {
    expect(cutChars('📈📈📈', 3)).toBe('📈📈📈');
    expect(cutChars('📈📈📈📈', 3)).toBe('📈📈…');
  });
});
