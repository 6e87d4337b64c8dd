import { describe, expect, it } from 'vitest';
import { type MboxMessage, MboxSplitter, toMboxEntry } from '../../core/mbox.js';
import { generateMailbox } from '../support/mbox.js';

function split(input: Buffer, max = 1_000_000, chunkSize = 7, start?: { offset: number; seq: number }) {
  const splitter = new MboxSplitter(max, start);
  const out: MboxMessage[] = [];
  for (let i = start?.offset ?? 0; i < input.length; i += chunkSize)
    out.push(...splitter.push(input.subarray(i, i + chunkSize)));
  return [...out, ...splitter.end()];
}

describe('MboxSplitter', () => {
  const a = 'From: a@example.com\nSubject: one\n\nhello\n>From the start\n';
  const b = 'From: b@example.com\nSubject: two\n\nworld\n';
  const mbox = Buffer.from(`preamble ignored\n${toMboxEntry(a)}${toMboxEntry(b)}`);

  it('splits on envelope lines, unquotes >From and drops the separator blank line', () => {
    const messages = split(mbox);
    expect(messages.map((m) => m.kind)).toEqual(['message', 'message']);
    const [first, second] = messages as Extract<MboxMessage, { kind: 'message' }>[];
    expect(first!.raw.toString()).toBe(
      `${a.replace('>From the start', '>From the start')}`.replace('\n>From', '\n>From'),
    );
    expect(toMboxEntry(a)).toContain('\n>>From the start');
    expect(second!.raw.toString()).toBe(b);
    expect(messages.map((m) => m.seq)).toEqual([0, 1]);
  });

  it('resumes at a message offset with the same results', () => {
    const all = split(mbox);
    const second = all[1]!;
    const resumed = split(mbox, 1_000_000, 5, { offset: second.offset, seq: second.seq });
    expect(resumed).toEqual([second]);
  });

  it('does not buffer a message over the limit, but hashes it', () => {
    const messages = split(mbox, 20);
    expect(messages.map((m) => m.kind)).toEqual(['too-large', 'too-large']);
    expect((messages[0] as { sizeBytes: number }).sizeBytes).toBeGreaterThanOrEqual(a.length);
    expect((messages[0] as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('splits a generated mailbox into exactly its entries', () => {
    const generated = generateMailbox(300, 0.03, 0.05);
    expect(split(Buffer.from(generated.mbox), 1_000_000, 4096)).toHaveLength(300);
  });
});
