/**
 * A stand-in for Slack's incoming webhooks (Slack cannot run here), speaking its wire protocol:
 * `POST /services/T…/B…/<token>` with a JSON body that has `text` or `blocks` answers 200 `ok`; a body
 * that is not JSON, or has neither, 400 `invalid_payload`; an unknown token 404 `no_service`. Faults
 * the test injects: `archived` (410 `channel_is_archived`), `revoked` (403 `invalid_token`),
 * `rate_limited` (429 with Retry-After) and `down` (500 `rollup_error`), each for the next N posts.
 */
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

export type SlackFault = 'archived' | 'revoked' | 'rate_limited' | 'down';

const FAULTS: Record<SlackFault, { status: number; body: string; headers?: Record<string, string> }> = {
  archived: { status: 410, body: 'channel_is_archived' },
  revoked: { status: 403, body: 'invalid_token' },
  rate_limited: { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } },
  down: { status: 500, body: 'rollup_error' },
};

export interface SlackStandIn {
  /** The incoming-webhook URL of the one channel this stand-in knows. */
  url: string;
  /** A URL of the right shape whose token Slack does not know. */
  unknownUrl: string;
  receiver: WebhookReceiver;
  /** Posts Slack accepted, parsed. */
  messages(): { text?: string; blocks?: Record<string, unknown>[] }[];
  inject(fault: SlackFault, times?: number): void;
  close(): Promise<void>;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const token = 'XXXXXXXXXXXXXXXXXXXXXXXX';
  const receiver = await startWebhookReceiver(`/services/T0TEST/B0TEST/${token}`);
  const faults: SlackFault[] = [];
  const judge = (path: string, body: string) => {
    if (!path.endsWith(`/${token}`)) return { status: 404, body: 'no_service' };
    const fault = faults.shift();
    if (fault) return FAULTS[fault];
    try {
      const parsed = JSON.parse(body) as { text?: unknown; blocks?: unknown };
      if (typeof parsed.text !== 'string' && !Array.isArray(parsed.blocks)) {
        return { status: 400, body: 'invalid_payload' };
      }
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
    return { status: 200, body: 'ok' };
  };
  receiver.script([], { status: 200, body: 'ok' });
  // The receiver answers by script; Slack's answer depends on the request, so judge each one.
  receiver.respond = judge;
  return {
    url: receiver.url,
    unknownUrl: receiver.url.replace(token, 'UNKNOWNTOKEN0000000000000'),
    receiver,
    messages: () => receiver.accepted().map((r) => JSON.parse(r.body)),
    inject(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    close: () => receiver.close(),
  };
}
