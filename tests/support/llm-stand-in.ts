/**
 * A stand-in for a paid LLM API: a real local HTTP server speaking the OpenAI chat-completions wire
 * protocol (`POST /v1/chat/completions`), so the code under test uses the real `openai` SDK unchanged.
 * Each test scripts the replies (valid, malformed, 429 with Retry-After, 5xx, 401, context length,
 * slow); the server records every call with its arrival time, headers and request body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Analysis } from '../../core/analysis.js';

export interface ArrivedCall {
  n: number;
  /** Arrival time (ms since epoch): for counting arrivals per window, never for pass/fail on speed. */
  at: number;
  authorization: string | undefined;
  body: {
    model: string;
    messages: { role: string; content: string }[];
    response_format?: { type: string };
  };
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Assistant message content (status 200), or an error message (other statuses). */
  content?: string;
  errorCode?: string;
  delayMs?: number;
  /** Drop the connection without answering (a reset). */
  drop?: boolean;
  /** Append the request's Authorization header to the error message, as careless providers do. */
  echoAuthorization?: boolean;
}

export const VALID_ANALYSIS: Analysis = {
  category: 'work',
  priority: 4,
  sentiment: 'neutral',
  urgency: 'normal',
  summary: 'The Q3 report is ready for review. Comments are due Friday.',
  action_items: [{ description: 'Send comments on the Q3 report', due_date: '2026-11-20' }],
  entities: { people: ['Alice Example'], orgs: [], dates: ['2026-11-20'], amounts: [] },
  language: 'en',
  reply_needed: true,
  confidence: 0.9,
};

export const reply = {
  valid: (analysis: Analysis = VALID_ANALYSIS): Reply => ({ content: JSON.stringify(analysis) }),
  malformed: (): Reply => ({ content: '{"category": "work", "priority": 9, "summary": ' }),
  invalidSchema: (): Reply => ({ content: JSON.stringify({ ...VALID_ANALYSIS, category: 'urgent-stuff' }) }),
  rateLimited: (retryAfterSeconds: number): Reply => ({
    status: 429,
    headers: { 'retry-after': String(retryAfterSeconds) },
    content: 'Rate limit reached for requests',
    errorCode: 'rate_limit_exceeded',
  }),
  serverError: (): Reply => ({
    status: 500,
    content: 'The server had an error while processing your request',
  }),
  unauthorized: (): Reply => ({
    status: 401,
    content: 'Incorrect API key provided',
    errorCode: 'invalid_api_key',
  }),
  /** A 401 whose message repeats the header it got: `Incorrect API key provided: Bearer sk-…`. */
  unauthorizedEcho: (): Reply => ({
    status: 401,
    content: 'Incorrect API key provided',
    errorCode: 'invalid_api_key',
    echoAuthorization: true,
  }),
  modelMissing: (): Reply => ({
    status: 404,
    content: 'The model does not exist',
    errorCode: 'model_not_found',
  }),
  contextLength: (): Reply => ({
    status: 400,
    content: "This model's maximum context length is 8192 tokens. Please reduce the length of the messages.",
    errorCode: 'context_length_exceeded',
  }),
  slow: (delayMs: number): Reply => ({ ...reply.valid(), delayMs }),
  connectionReset: (): Reply => ({ drop: true }),
  forbidden: (): Reply => ({ status: 403, content: 'Project does not have access to this model' }),
  badRequest: (): Reply => ({ status: 400, content: "Invalid value for 'temperature'" }),
};

export interface LlmStandIn {
  /** Base URL for AI_BASE_URL (ends in /v1). */
  url: string;
  calls: ArrivedCall[];
  /** Replies for the next calls, in order; after them every call gets a valid answer. */
  script(...replies: Reply[]): void;
  /**
   * From now on, calls whose system prompt contains `marker` get `make()` (after the scripted replies):
   * how a test makes one prompt version's answers invalid or slow while the other's stay healthy.
   */
  whenPrompt(marker: string, make: () => Reply): void;
  /** A delay for every reply that sets none: a provider's usual latency. */
  setDefaultDelay(ms: number): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startLlmStandIn(): Promise<LlmStandIn> {
  const calls: ArrivedCall[] = [];
  let queue: Reply[] = [];
  let rules: { marker: string; make: () => Reply }[] = [];
  let defaultDelayMs = 0;
  const byPrompt = (body: ArrivedCall['body']): Reply | undefined => {
    const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
    return rules.find((rule) => system.includes(rule.marker))?.make();
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ArrivedCall['body'];
      calls.push({ n: calls.length + 1, at: Date.now(), authorization: req.headers.authorization, body });
      const r = queue.shift() ?? byPrompt(body) ?? reply.valid();
      const delayMs = r.delayMs ?? defaultDelayMs;
      if (r.drop) {
        req.socket.destroy();
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        const status = r.status ?? 200;
        res.writeHead(status, { 'content-type': 'application/json', ...r.headers });
        const echoed = r.echoAuthorization
          ? {
              ...r,
              content: `${r.content}: ${req.headers.authorization}; key ${req.headers.authorization?.replace(/^Bearer /, '')} is not valid`,
            }
          : r;
        res.end(JSON.stringify(status === 200 ? completion(body.model, r.content ?? '') : errorBody(echoed)));
      };
      if (delayMs) {
        const timer = setTimeout(send, delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    script: (...replies) => {
      queue = replies;
    },
    whenPrompt: (marker, make) => {
      rules.push({ marker, make });
    },
    setDefaultDelay: (ms) => {
      defaultDelayMs = ms;
    },
    reset: () => {
      queue = [];
      rules = [];
      defaultDelayMs = 0;
      calls.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function completion(model: string, content: string) {
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 420, completion_tokens: 180, total_tokens: 600 },
  };
}

function errorBody(r: Reply) {
  return {
    error: { message: r.content ?? 'error', type: 'invalid_request_error', code: r.errorCode ?? null },
  };
}

/** App settings that point the `openai-compatible` provider at a stand-in. */
export function standInEnv(llm: LlmStandIn, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AI_PROVIDER: 'openai-compatible',
    AI_BASE_URL: llm.url,
    AI_API_KEY: 'sk-stand-in-secret-0123456789',
    AI_MODEL: 'stand-in-1',
    ...overrides,
  };
}
