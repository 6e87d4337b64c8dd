/**
 * Thread keys. A message is connected to another when either one's match keys meet the other's keys;
 * the relation is symmetric, so the threads that result do not depend on arrival order.
 *
 * - keys: the message's own id (`mid:<Message-ID>`, or `key:<dedupKey>` without one), the ids it refers
 *   to (In-Reply-To, References) and its normalised subject (`subj:…`).
 * - match keys: the same without the subject, except for a reply that carries no references at all
 *   ("Re: …" from a client that drops them): only then does the subject join it to a thread.
 *
 * The thread id is the smallest key of the whole connected set (computed in SQL, see upsert_email), so
 * it is a pure function of which messages have arrived, not of the order they arrived in.
 */
const REPLY_PREFIX = /^\s*((re|fwd?|aw|sv|vs|antw|rif|tr|wg|réf)(\[\d+\])?\s*[:：]\s*)+/i;

export function normaliseSubject(subject: string | null): string {
  return (subject ?? '').replace(REPLY_PREFIX, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

export interface ThreadKeyInput {
  messageId: string | null;
  dedupKey: string;
  inReplyTo: string | null;
  references: string[];
  subject: string | null;
}

export function threadKeys(email: ThreadKeyInput): { threadKeys: string[]; threadMatchKeys: string[] } {
  const self = email.messageId ? `mid:${email.messageId}` : `key:${email.dedupKey}`;
  const referred = [...email.references, ...(email.inReplyTo ? [email.inReplyTo] : [])].map(
    (id) => `mid:${id}`,
  );
  const subject = normaliseSubject(email.subject);
  const subjectKey = subject ? [`subj:${subject}`] : [];
  const isBareReply = referred.length === 0 && REPLY_PREFIX.test(email.subject ?? '');
  const unique = (list: string[]) => [...new Set(list)];
  return {
    threadKeys: unique([self, ...referred, ...subjectKey]),
    threadMatchKeys: unique([self, ...referred, ...(isBareReply ? subjectKey : [])]),
  };
}
