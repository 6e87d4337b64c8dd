/**
 * Split an mbox stream into messages without holding the file in memory.
 *
 * A message starts at a line beginning with "From " (the envelope line, which is not part of the
 * message). Body lines that writers quoted as ">From " (mboxrd) lose one ">". A message larger than
 * `maxMessageBytes` is not buffered: its size and SHA-256 are still computed so it can be recorded as
 * rejected.
 */
import { createHash, type Hash } from 'node:crypto';

export type MboxMessage =
  | { seq: number; offset: number; kind: 'message'; raw: Buffer }
  | { seq: number; offset: number; kind: 'too-large'; sizeBytes: number; sha256: string };

const FROM = Buffer.from('From ');
const QUOTED_FROM = /^>+From /;

export class MboxSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Absolute byte offset of `pending[0]` in the file. */
  private pendingOffset: number;
  private current: { offset: number; parts: Buffer[]; size: number; hash?: Hash } | null = null;
  private seq: number;

  constructor(
    private readonly maxMessageBytes: number,
    start: { offset: number; seq: number } = { offset: 0, seq: 0 },
  ) {
    this.pendingOffset = start.offset;
    this.seq = start.seq;
  }

  /** Feed bytes; returns the messages completed by them. */
  push(chunk: Buffer): MboxMessage[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: MboxMessage[] = [];
    let lineStart = 0;
    for (let nl = this.pending.indexOf(10); nl !== -1; nl = this.pending.indexOf(10, lineStart)) {
      this.line(this.pending.subarray(lineStart, nl + 1), this.pendingOffset + lineStart, out);
      lineStart = nl + 1;
    }
    this.pendingOffset += lineStart;
    this.pending = this.pending.subarray(lineStart);
    return out;
  }

  /** End of input: returns the last message, if any. */
  end(): MboxMessage[] {
    const out: MboxMessage[] = [];
    if (this.pending.length) this.line(this.pending, this.pendingOffset, out);
    this.pending = Buffer.alloc(0);
    this.finish(out);
    return out;
  }

  private line(line: Buffer, offset: number, out: MboxMessage[]): void {
    if (line.subarray(0, FROM.length).equals(FROM)) {
      this.finish(out);
      this.current = { offset, parts: [], size: 0 };
      return;
    }
    if (!this.current) return; // text before the first envelope line is not a message
    const text =
      line[0] === 0x3e && QUOTED_FROM.test(line.subarray(0, 64).toString('latin1')) ? line.subarray(1) : line;
    this.current.size += text.length;
    if (this.current.hash) {
      this.current.hash.update(text);
    } else if (this.current.size > this.maxMessageBytes) {
      // Too large to keep: hash what we have and stream the rest through the hash.
      this.current.hash = createHash('sha256');
      for (const part of this.current.parts) this.current.hash.update(part);
      this.current.hash.update(text);
      this.current.parts = [];
    } else {
      this.current.parts.push(Buffer.from(text));
    }
  }

  private finish(out: MboxMessage[]): void {
    const message = this.current;
    this.current = null;
    if (!message) return;
    const seq = this.seq++;
    if (message.hash) {
      out.push({
        seq,
        offset: message.offset,
        kind: 'too-large',
        sizeBytes: message.size,
        sha256: message.hash.digest('hex'),
      });
    } else {
      out.push({
        seq,
        offset: message.offset,
        kind: 'message',
        raw: trimSeparatorNewline(Buffer.concat(message.parts)),
      });
    }
  }
}

/** The blank line before the next envelope belongs to the format, not to the message. */
function trimSeparatorNewline(raw: Buffer): Buffer {
  if (raw.length >= 2 && raw[raw.length - 1] === 10 && raw[raw.length - 2] === 10) return raw.subarray(0, -1);
  if (raw.length >= 4 && raw.subarray(-4).toString('latin1') === '\r\n\r\n') return raw.subarray(0, -2);
  return raw;
}

/** Quote a message for an mbox (mboxrd) and prefix its envelope line: for writers and tests. */
export function toMboxEntry(
  raw: string,
  from = 'sender@example.com',
  date = 'Mon Nov 23 10:00:00 2026',
): string {
  const body = raw.replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1');
  return `From ${from} ${date}\n${body}${body.endsWith('\n') ? '' : '\n'}\n`;
}
