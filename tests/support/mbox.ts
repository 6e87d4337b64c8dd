/** Generated mailboxes with known contents: every count a test asserts is known before it runs. */
import { toMboxEntry } from '../../core/mbox.js';

export interface GeneratedMailbox {
  mbox: string;
  unique: number;
  duplicates: number;
  bad: number;
}

/**
 * `total` entries: `bad` of them are not emails (no From header, or binary junk), `duplicates` repeat an
 * earlier message exactly, the rest are distinct. Some bodies contain lines starting with "From " to
 * exercise mboxrd quoting.
 */
export function generateMailbox(
  total: number,
  badShare: number,
  duplicateShare: number,
  seed = 'mbox',
): GeneratedMailbox {
  const bad = Math.round(total * badShare);
  const duplicates = Math.round(total * duplicateShare);
  const unique = total - bad - duplicates;
  const messages: string[] = [];
  for (let i = 0; i < unique; i++) {
    messages.push(
      `From: Sender ${i % 17} <sender${i % 17}@example.com>\nTo: inbox@example.org\n` +
        `Subject: ${seed} message ${i}\nMessage-ID: <${seed}-${i}@example.com>\n` +
        `Date: Mon, 16 Nov 2026 ${String(i % 24).padStart(2, '0')}:00:00 +0000\n\n` +
        `Body of message ${i}.\n${i % 10 === 0 ? 'From here on, a body line that looks like an envelope.\n' : ''}`,
    );
  }
  const entries = messages.map((m) => toMboxEntry(m));
  for (let d = 0; d < duplicates; d++) {
    entries.splice(
      Math.floor(((d * 7919) % entries.length) + 1),
      0,
      toMboxEntry(messages[(d * 31) % unique]!),
    );
  }
  for (let b = 0; b < bad; b++) {
    const junk =
      b % 2 ? `Subject: no sender ${b}\n\nno From header here\n` : `\u0000\u0001binary junk ${b}\n`;
    entries.splice(Math.floor((b * 104729) % entries.length), 0, toMboxEntry(junk));
  }
  return { mbox: entries.join(''), unique, duplicates, bad };
}
