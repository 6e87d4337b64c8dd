/**
 * What a webhook endpoint receives: which events match it, and the body of each message. Standard
 * endpoints get the Standard Webhooks envelope `{type, timestamp, data}`; Slack endpoints a Block Kit
 * message (sender, subject, summary, priority, a link). Pure: no I/O, no secrets.
 */
import type { EventType, OutboxEvent } from './events.js';

export type WebhookKind = 'standard' | 'slack';

/** Which events an endpoint hears of: the types, then (Slack's filter) priority or category. */
export interface WebhookFilter {
  /** Types delivered; ['*'] for all. */
  eventTypes: readonly (EventType | '*')[];
  /** An email event is delivered if its priority is at least this… */
  minPriority?: number | null;
  /** …or its category is one of these. Neither set: every event of the types. */
  categories?: readonly string[] | null;
}

export const SLACK_DEFAULT_FILTER: WebhookFilter = {
  eventTypes: ['email.analyzed'],
  minPriority: 4,
  categories: ['support'],
};

export function eventMatches(filter: WebhookFilter, event: Pick<OutboxEvent, 'type' | 'payload'>): boolean {
  if (!filter.eventTypes.includes('*') && !filter.eventTypes.includes(event.type)) return false;
  const minPriority = filter.minPriority ?? null;
  const categories = filter.categories?.length ? filter.categories : null;
  if (minPriority === null && categories === null) return true;
  const priority = typeof event.payload.priority === 'number' ? event.payload.priority : null;
  const category = typeof event.payload.category === 'string' ? event.payload.category.toLowerCase() : null;
  return (
    (minPriority !== null && priority !== null && priority >= minPriority) ||
    (categories !== null && category !== null && categories.some((c) => c.toLowerCase() === category))
  );
}

/** The Standard Webhooks envelope of one event. */
export function standardBody(event: OutboxEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.createdAt,
    data: { eventId: event.id, tenantId: event.tenantId, subjectId: event.subjectId, ...event.payload },
  });
}

/** The ping test_webhook sends. */
export function pingBody(endpointId: string, at: Date): string {
  return JSON.stringify({
    type: 'webhook.ping',
    timestamp: at.toISOString(),
    data: { endpointId, message: 'A test message from durable-inbox: this endpoint is reachable.' },
  });
}

export function slackPingBody(): string {
  return JSON.stringify({ text: 'durable-inbox: this Slack webhook is connected (a test message).' });
}

const str = (v: unknown, fallback = '—') => (typeof v === 'string' && v.trim() ? v.trim() : fallback);
/** Slack's mrkdwn treats &, < and > as control characters. */
const mrkdwnEscape = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const cap = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/**
 * A Block Kit message: the subject as header, sender, priority and category as fields, the summary, and
 * a link to the email (`emailUrlTemplate` with `{emailId}`, else the MCP resource `email://<id>`).
 */
export function slackBody(event: OutboxEvent, emailUrlTemplate?: string): string {
  const p = event.payload;
  const subject = cap(str(p.subject, '(no subject)'), 150);
  const from = mrkdwnEscape(cap(str(p.from), 300));
  const priority = typeof p.priority === 'number' ? String(p.priority) : '—';
  const category = mrkdwnEscape(str(p.category));
  const summary = mrkdwnEscape(cap(str(p.summary, 'No summary.'), 2900));
  const emailId = str(p.emailId, event.subjectId);
  const url = emailUrlTemplate?.replaceAll('{emailId}', encodeURIComponent(emailId));
  const link = url ? `<${url}|Open the email>` : `\`email://${emailId}\``;
  return JSON.stringify({
    text: `${event.type}: ${subject} (from ${from}, priority ${priority})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: subject, emoji: false } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*From*\n${from}` },
          { type: 'mrkdwn', text: `*Priority*\n${priority}` },
          { type: 'mrkdwn', text: `*Category*\n${category}` },
          { type: 'mrkdwn', text: `*Event*\n${event.type}` },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: summary } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: link }] },
    ],
  });
}
