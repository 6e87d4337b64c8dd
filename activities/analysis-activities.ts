/**
 * AI-analysis activities.
 *
 * - `analyzeWithLlm` runs on the provider's own task queue (`ai-<provider>`), rate-limited there. It
 *   reads the email and the prompt from the database by id, makes the call, repairs one invalid answer,
 *   shrinks the prompt once after a context-length error, writes one metric row per call (failures
 *   included), and stores the result.
 * - `analyzeWithHeuristic`, `findAnalysis` and `planEmailAnalysis` run on the main queue.
 *
 * Mail text goes neither in nor out: inputs are ids, and results carry only the labels (category,
 * priority, …) and figures. The summary, action items and entities stay in Postgres, so workflow
 * histories (and Temporal Cloud) never hold anything derived from a message body.
 *
 * The API key lives in the worker's memory (deps); it is never in an input, a result or a log line.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import { type AiConfig, costEstimate, HEURISTIC_MODEL, type LlmSettings } from '../core/ai-providers.js';
import {
  type Analysis,
  type AnalysisLabels,
  type EmailForAnalysis,
  plainTextBody,
} from '../core/analysis.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { failureText } from '../core/failure.js';
import { analyseHeuristically } from '../core/heuristic-analysis.js';
import { metrics } from '../core/metrics.js';
import { truncateToTokens } from '../core/token-budget.js';
import {
  type AnalysisRecord,
  findStoredAnalysis,
  loadEmailForAnalysis,
  recordAiCall,
  storeEmailAnalysis,
} from '../supabase/analyses.js';
import { planAnalysis } from '../supabase/analysis-plan.js';
import type { Sql } from '../supabase/db.js';
import { ANALYSIS_TOOL, promptContent } from '../supabase/prompts.js';
import type { AnalysisPlan } from '../workflows/analyze-email.contract.js';
import {
  type ChatMessage,
  chat,
  classifyProviderError,
  createLlmClient,
  parseAnalysis,
} from './llm-provider.js';
import { createPacer, type Pacer } from './pacer.js';

export interface AnalysisActivityDeps {
  sql: Sql;
  ai: AiConfig;
}

export interface AnalysisCallInput {
  tenantId: string;
  emailId: string;
  promptVersionId: string;
  arm: 'baseline' | 'candidate';
  provider: string;
  model: string;
  /** Replace a stored result for this prompt version instead of keeping the first one. */
  force: boolean;
}

export interface AnalysisOutcome {
  analysisId: string;
  /** false when a result for this prompt version was already stored without `force`: that one stands. */
  stored: boolean;
  model: string;
  labels: AnalysisLabels;
  tokens: number;
  durationMs: number;
  cost: number;
  /** Provider calls this attempt made (1, or 2 after a repair or a smaller prompt). */
  calls: number;
}

interface Answer {
  result: Analysis;
  model: string;
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
  cost: number;
  calls: number;
}

function labelsOf(a: Analysis): AnalysisLabels {
  return {
    category: a.category,
    priority: a.priority,
    urgency: a.urgency,
    reply_needed: a.reply_needed,
    language: a.language,
  };
}

export function createAnalysisActivities(deps: AnalysisActivityDeps) {
  const { sql, ai } = deps;
  // One client per worker: the SDK keeps connections alive between calls.
  const client = ai.llm ? createLlmClient(ai.llm) : undefined;
  const pacer = createPacer(ai.llm?.ratePerSecond ?? 1, (waitedMs) =>
    metrics.rateLimitWait(ai.llm?.provider ?? 'none', waitedMs),
  );

  async function loadEmail(input: AnalysisCallInput): Promise<EmailForAnalysis> {
    const email = await loadEmailForAnalysis(sql, input.tenantId, input.emailId);
    if (!email) {
      throw ApplicationFailure.create({
        type: ErrorType.NotFound,
        message: `no email ${input.emailId} for tenant ${input.tenantId}`,
        nonRetryable: true,
      });
    }
    return email;
  }

  return {
    async planEmailAnalysis(request: { tenantId: string; emailId: string }): Promise<AnalysisPlan | null> {
      if (!ai.analyseOnIngest) return null;
      return planAnalysis(sql, ai, { ...request, force: false });
    },

    /**
     * planEmailAnalysis for many emails in one activity (the mailbox sync plans a pass's emails in a few
     * of these, not one activity each). `off`: analysis on ingest is off here, nothing is planned. An
     * email whose plan cannot be made is returned with its reason, and the others are planned.
     */
    async planEmailAnalyses(request: {
      tenantId: string;
      emailIds: string[];
    }): Promise<{ off: boolean; plans: { emailId: string; plan?: AnalysisPlan; error?: string }[] }> {
      if (!ai.analyseOnIngest) return { off: true, plans: [] };
      // A plan that cannot be made (no such email, no active prompt) is said; anything else (the
      // database away) fails the activity, which is retried.
      const plans: { emailId: string; plan?: AnalysisPlan; error?: string }[] = [];
      for (const emailId of request.emailIds) {
        try {
          plans.push({
            emailId,
            plan: await planAnalysis(sql, ai, { tenantId: request.tenantId, emailId, force: false }),
          });
        } catch (err) {
          if (!(err instanceof UserFacingError)) throw err;
          plans.push({ emailId, error: failureText(err) });
        }
      }
      return { off: false, plans };
    },

    async findAnalysis(input: {
      tenantId: string;
      emailId: string;
      promptVersionId: string;
    }): Promise<{ analysisId: string; model: string; labels: AnalysisLabels } | null> {
      const found = await findStoredAnalysis(sql, input.tenantId, input.emailId, input.promptVersionId);
      return found && { analysisId: found.analysisId, model: found.model, labels: labelsOf(found.result) };
    },

    async analyzeWithHeuristic(input: AnalysisCallInput): Promise<AnalysisOutcome> {
      const email = await loadEmail(input);
      const started = performance.now();
      const result = analyseHeuristically(email);
      const durationMs = Math.round(performance.now() - started);
      await recordCall(sql, {
        ...metricBase(input, 0),
        model: HEURISTIC_MODEL,
        durationMs,
        tokens: 0,
        paramHash: paramHash({
          provider: 'heuristic',
          model: HEURISTIC_MODEL,
          prompt: input.promptVersionId,
        }),
        success: true,
        validOutput: true,
        errorType: null,
      });
      return store(input, {
        result,
        model: HEURISTIC_MODEL,
        inputTokens: 0,
        outputTokens: 0,
        durationMs,
        cost: 0,
        calls: 1,
      });
    },

    async analyzeWithLlm(input: AnalysisCallInput): Promise<AnalysisOutcome> {
      const settings = ai.llm;
      if (!settings || !client || settings.provider !== input.provider) {
        throw ApplicationFailure.create({
          type: ErrorType.ProviderNotConfigured,
          message: `this worker has no ${input.provider} provider configured (AI_PROVIDER)`,
          nonRetryable: true,
        });
      }
      const email = await loadEmail(input);
      const prompt = await promptContent(sql, input.promptVersionId);
      if (!prompt) {
        throw ApplicationFailure.create({
          type: ErrorType.NoActivePrompt,
          message: `prompt version ${input.promptVersionId} does not exist`,
          nonRetryable: true,
        });
      }
      return store(input, await callWithRepair(sql, { client, settings, pacer }, input, email, prompt));
    },
  };

  async function store(input: AnalysisCallInput, answer: Answer): Promise<AnalysisOutcome> {
    const record: AnalysisRecord = {
      promptVersionId: input.promptVersionId,
      provider: input.provider,
      model: answer.model,
      result: answer.result,
      inputTokens: answer.inputTokens,
      outputTokens: answer.outputTokens,
      tokens: answer.inputTokens + answer.outputTokens,
      durationMs: answer.durationMs,
      cost: answer.cost,
      workflowId: Context.current().info.workflowExecution?.workflowId ?? '',
    };
    const saved = await storeEmailAnalysis(sql, input.tenantId, input.emailId, record, input.force);
    return {
      analysisId: saved.analysisId,
      stored: saved.stored,
      model: answer.model,
      labels: labelsOf(saved.result),
      tokens: record.tokens,
      durationMs: answer.durationMs,
      cost: answer.cost,
      calls: answer.calls,
    };
  }
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;

/** The per-attempt call loop: at most one repair and at most one smaller prompt, each a metered call. */
async function callWithRepair(
  sql: Sql,
  { client, settings, pacer }: { client: OpenAI; settings: LlmSettings; pacer: Pacer },
  input: AnalysisCallInput,
  email: EmailForAnalysis,
  prompt: string,
): Promise<Answer> {
  const ctx = Context.current();
  // Stop just before Temporal's own start-to-close timeout, so a slow provider still leaves a metric row.
  const deadline = Date.now() + Math.max(1000, ctx.info.startToCloseTimeoutMs - 500);
  let budget = settings.maxInputTokens;
  let messages = buildMessages(prompt, email, budget);
  let repaired = false;
  let shrunk = false;
  const totals = { inputTokens: 0, outputTokens: 0, durationMs: 0, calls: 0 };

  for (;;) {
    const callNo = totals.calls++;
    const hash = paramHash({
      provider: settings.provider,
      model: input.model,
      format: settings.responseFormat,
      budget,
      prompt: input.promptVersionId,
    });
    const timeout = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    const signal = AbortSignal.any([ctx.cancellationSignal, timeout]);
    await pacer.take(signal);
    const started = performance.now();
    const record = (fields: {
      tokens: number;
      success: boolean;
      validOutput: boolean;
      errorType: string | null;
    }) =>
      recordCall(sql, {
        ...metricBase(input, callNo),
        model: input.model,
        durationMs: Math.round(performance.now() - started),
        paramHash: hash,
        ...fields,
      });

    let answer: Awaited<ReturnType<typeof chat>>;
    try {
      answer = await chat(client, settings, input.model, messages, signal);
    } catch (err) {
      const failure = classifyProviderError(err, settings.provider, input.model, timeout.aborted);
      await record({ tokens: 0, success: false, validOutput: false, errorType: failure.type });
      totals.durationMs += Math.round(performance.now() - started);
      if (failure.contextLength && !shrunk) {
        // One more try with half the budget; a second context error is final.
        shrunk = true;
        budget = Math.max(200, Math.floor(budget / 2));
        messages = buildMessages(prompt, email, budget);
        continue;
      }
      throw new UserFacingError(failure.type, failure.message, {
        retryable: failure.retryable,
        retryAfterMs: failure.retryAfterMs,
      });
    }

    const durationMs = Math.round(performance.now() - started);
    totals.durationMs += durationMs;
    totals.inputTokens += answer.inputTokens;
    totals.outputTokens += answer.outputTokens;
    const tokens = answer.inputTokens + answer.outputTokens;
    const parsed = parseAnalysis(answer.content);
    if (parsed.ok) {
      await record({ tokens, success: true, validOutput: true, errorType: null });
      return {
        result: parsed.value,
        model: input.model,
        inputTokens: totals.inputTokens,
        outputTokens: totals.outputTokens,
        durationMs: totals.durationMs,
        cost: costEstimate(settings.pricePerMillion, {
          input: totals.inputTokens,
          output: totals.outputTokens,
        }),
        calls: totals.calls,
      };
    }
    await record({ tokens, success: false, validOutput: false, errorType: ErrorType.InvalidModelOutput });
    if (repaired) {
      throw ApplicationFailure.create({
        type: ErrorType.InvalidModelOutput,
        message: `${settings.provider}/${input.model} gave an invalid analysis twice: ${parsed.issues}`,
        nonRetryable: true,
      });
    }
    repaired = true;
    messages = [
      ...messages,
      { role: 'assistant', content: answer.content.slice(0, 4000) },
      {
        role: 'user',
        content: `That answer is not valid: ${parsed.issues}. Reply again with only the corrected JSON object.`,
      },
    ];
  }
}

function buildMessages(prompt: string, email: EmailForAnalysis, budget: number): ChatMessage[] {
  const body = truncateToTokens(plainTextBody(email), budget).text;
  const head = [
    `Date: ${email.sentAt ?? 'unknown'}`,
    `From: ${email.from ? `${email.from.name ?? ''} <${email.from.address}>`.trim() : 'unknown'}`,
    `To: ${email.to.slice(0, 10).join(', ')}`,
    `Subject: ${(email.subject ?? '').slice(0, 300)}`,
    ...(email.headers['list-unsubscribe'] ? ['List-Unsubscribe: present'] : []),
  ].join('\n');
  return [
    { role: 'system', content: prompt },
    { role: 'user', content: `${head}\n\n${body}` },
  ];
}

/** Every analysis call: its metric row (the rollout gates read them) and the Prometheus series. */
function recordCall(sql: Sql, row: Parameters<typeof recordAiCall>[1]) {
  metrics.analysisCall({
    provider: row.provider,
    outcome: row.success ? 'ok' : (row.errorType ?? 'failed'),
    durationMs: row.durationMs,
    tenantId: row.tenantId ?? undefined,
    arm: row.arm,
  });
  return recordAiCall(sql, row);
}

/** Metric fields every call shares; the key is unique per workflow, activity, attempt and call. */
function metricBase(input: AnalysisCallInput, callNo: number) {
  const info = Context.current().info;
  const run = info.workflowExecution;
  return {
    callKey: `${run?.workflowId ?? 'standalone'}/${run?.runId ?? ''}/${info.activityId}/${info.attempt}/${callNo}`,
    at: new Date().toISOString(),
    tenantId: input.tenantId,
    emailId: input.emailId,
    toolName: ANALYSIS_TOOL,
    provider: input.provider,
    promptVersionId: input.promptVersionId,
    arm: input.arm,
  };
}

/** A short hash of what changes a call's performance, so rollups compare like with like. */
function paramHash(params: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(params)).digest('hex').slice(0, 16);
}
