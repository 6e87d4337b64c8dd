/**
 * The analysis of one email: ONE zod schema shared by every provider (the heuristic analyser and every
 * LLM). LLM output is validated against it before anything is stored, and the JSON Schema sent to
 * providers that support `response_format: json_schema` is generated from it, so the two cannot drift.
 *
 * Every field is required and optional values are `null`, because OpenAI's strict structured output
 * requires that shape; the same shape is then easy to validate for JSON-mode providers.
 */
import { z } from 'zod';
import { htmlToText } from './html.js';

export const CATEGORIES = [
  'work',
  'personal',
  'newsletter',
  'notification',
  'finance',
  'support',
  'spam',
  'other',
] as const;
export const Category = z.enum(CATEGORIES);
export type Category = z.infer<typeof Category>;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

/** Sentences end with . ! ? or their CJK forms; a trailing fragment counts as one. */
export function countSentences(text: string): number {
  return text
    .split(/(?<=[.!?。！？])\s+/)
    .map((s) => s.trim())
    .filter((s) => s !== '').length;
}

export const AnalysisSchema = z.strictObject({
  category: Category,
  priority: z.number().int().min(1).max(5).describe('1 = can wait, 5 = needs attention now'),
  sentiment: z.enum(['positive', 'neutral', 'negative']),
  urgency: z.enum(['low', 'normal', 'high']),
  summary: z
    .string()
    .min(1)
    .max(600)
    .refine((s) => countSentences(s) <= 3, 'at most 3 sentences')
    .describe('At most 3 sentences'),
  action_items: z
    .array(
      z.strictObject({
        description: z.string().min(1).max(300),
        due_date: isoDate.nullable().describe('YYYY-MM-DD, or null when none is stated'),
      }),
    )
    .max(10),
  entities: z.strictObject({
    people: z.array(z.string().min(1).max(120)).max(20),
    orgs: z.array(z.string().min(1).max(120)).max(20),
    dates: z.array(isoDate).max(20).describe('Dates mentioned, as YYYY-MM-DD'),
    amounts: z
      .array(
        z.strictObject({
          value: z.number(),
          currency: z
            .string()
            .regex(/^[A-Z]{3}$/)
            .nullable()
            .describe('ISO 4217 code, or null'),
        }),
      )
      .max(20),
  }),
  language: z
    .string()
    .regex(/^[a-z]{2}$/)
    .describe('ISO 639-1 code of the email body, e.g. en, de, fr'),
  reply_needed: z.boolean(),
  confidence: z.number().min(0).max(1),
});
export type Analysis = z.infer<typeof AnalysisSchema>;

/** What crosses a workflow history: labels and figures, never text derived from the message. */
export type AnalysisLabels = Pick<
  Analysis,
  'category' | 'priority' | 'urgency' | 'reply_needed' | 'language'
>;

/** Priority bands used to compare analyses (and in the fixture labels): 1–2 low, 3 medium, 4–5 high. */
export function priorityBand(priority: number): 'low' | 'medium' | 'high' {
  return priority <= 2 ? 'low' : priority === 3 ? 'medium' : 'high';
}

/** The JSON Schema sent as `response_format: json_schema` (refinements stay on the zod side). */
export function analysisJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(AnalysisSchema, { target: 'draft-7', unrepresentable: 'any' });
  delete (schema as { $schema?: string }).$schema;
  return schema as Record<string, unknown>;
}

/** The email fields an analyser reads. Built by the activity from the stored row, never from a payload. */
export interface EmailForAnalysis {
  subject: string | null;
  from: { name: string | null; address: string } | null;
  to: string[];
  sentAt: string | null;
  /** Lower-cased header name → values. */
  headers: Record<string, string[]>;
  textBody: string | null;
  htmlBody: string | null;
}

/** The analyser's view of a freshly parsed message (tests and tools that have no stored row yet). */
export function emailForAnalysis(email: {
  subject: string | null;
  from: { name: string | null; address: string }[];
  to: { address: string }[];
  sentAt: string | null;
  headers: Record<string, string[]>;
  textBody: string | null;
  htmlBody: string | null;
}): EmailForAnalysis {
  return {
    subject: email.subject,
    from: email.from[0] ?? null,
    to: email.to.map((a) => a.address),
    sentAt: email.sentAt,
    headers: email.headers,
    textBody: email.textBody,
    htmlBody: email.htmlBody,
  };
}

/** The body as plain text: the text part, or the HTML part with its markup removed. */
export function plainTextBody(email: EmailForAnalysis): string {
  if (email.textBody) return email.textBody;
  // Ingestion already renders HTML-only mail to text; this covers rows stored without one.
  return email.htmlBody ? htmlToText(email.htmlBody) : '';
}
