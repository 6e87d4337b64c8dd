/**
 * The project's typed search attributes. They make runs findable in the Temporal Web UI
 * (e.g. `TenantId = "…" AND IngestStatus = "stored"`). The app registers them at start.
 *
 * Every value, and every run summary and details text, goes through this module, so none can exceed
 * Temporal's limits whatever a message carries (a server refuses a start over them, or terminates a run
 * that upserts them): `searchAttribute()` for values, `summaryText()` / `detailsText()` for summaries.
 * Workflow code uses it too, so it is deterministic and imports nothing Node-only.
 */
import { defineSearchAttributeKey, type SearchAttributePair, SearchAttributeType } from '@temporalio/common';
import { sha256HexOfText, utf8Length } from '../core/utf8-sha256.js';

export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const EmailFrom = defineSearchAttributeKey('EmailFrom', SearchAttributeType.KEYWORD);
export const MessageId = defineSearchAttributeKey('MessageId', SearchAttributeType.KEYWORD);
export const ThreadId = defineSearchAttributeKey('ThreadId', SearchAttributeType.KEYWORD);
export const IngestStatus = defineSearchAttributeKey('IngestStatus', SearchAttributeType.KEYWORD);
export const PromptTool = defineSearchAttributeKey('PromptTool', SearchAttributeType.KEYWORD);
export const RolloutStage = defineSearchAttributeKey('RolloutStage', SearchAttributeType.KEYWORD);

type KeywordKey = typeof TenantId;

export const SEARCH_ATTRIBUTES = [
  TenantId,
  EmailFrom,
  MessageId,
  ThreadId,
  IngestStatus,
  PromptTool,
  RolloutStage,
];

// ---- Sizes ----------------------------------------------------------------------------------------
// Temporal measures the encoded payload: the JSON text in UTF-8 plus ~50 bytes of metadata. Defaults:
// 2 KiB per search attribute value (40 KiB in all), 400 bytes per summary, 20,000 per details text.
// The budgets below count the JSON text (quotes and escapes included) and leave room for the metadata.

/** Values searched by equality that are longer than this (UTF-8 bytes) are replaced by their hash. */
export const HASH_OVER_BYTES = 256;
/** The marker of a hashed value: `sha256:` and the hex SHA-256 of the value's UTF-8. */
export const HASH_PREFIX = 'sha256:';
/** Other values are cut to this many bytes of JSON, at a character boundary, ending in `…`. */
export const SEARCH_ATTRIBUTE_MAX_BYTES = 1024;
export const SUMMARY_MAX_BYTES = 350;
export const DETAILS_MAX_BYTES = 16_000;

/** Equality-searched: a cut value would match other values, or none, so these are hashed instead. */
const HASHED = new Set<string>([EmailFrom.name, MessageId.name, ThreadId.name]);

/**
 * The value a search attribute holds. EmailFrom, MessageId and ThreadId stay as they are up to
 * HASH_OVER_BYTES; longer ones (and any that already start with `sha256:`, so a hash is never
 * ambiguous) become `sha256:<hex>`. Any other attribute is cut to SEARCH_ATTRIBUTE_MAX_BYTES.
 */
export function searchAttributeValue(key: KeywordKey, value: string) {
  if (!HASHED.has(key.name)) return cutText(value, SEARCH_ATTRIBUTE_MAX_BYTES);
  if (utf8Length(value) <= HASH_OVER_BYTES && !value.startsWith(HASH_PREFIX)) return value;
  return `${HASH_PREFIX}${sha256HexOfText(value)}`;
}

/** A search attribute pair whose value fits (see searchAttributeValue). */
export function searchAttribute(key: KeywordKey, value: string): SearchAttributePair {
  return { key, value: searchAttributeValue(key, value) };
}

/** A run's staticSummary, cut to fit. */
export function summaryText(text: string): string {
  return cutText(text, SUMMARY_MAX_BYTES);
}

/** A run's staticDetails (or current details), cut to fit. */
export function detailsText(text: string): string {
  return cutText(text, DETAILS_MAX_BYTES);
}

/**
 * `text` whose JSON encoding fits in `maxBytes` UTF-8 bytes: unchanged when it fits, else cut at a
 * character boundary (a surrogate pair is never split) and ended with `…`.
 */
export function cutText(text: string, maxBytes: number): string {
  if (jsonBytes(text) <= maxBytes) return text;
  const budget = maxBytes - jsonBytes('…');
  let used = 0;
  let out = '';
  for (const ch of text) {
    const cost = jsonBytes(ch) - 2;
    if (used + cost > budget) break;
    used += cost;
    out += ch;
  }
  return `${out}…`;
}

/** At most `maxChars` characters (code points) of `text`, ending in `…` when cut: for readable labels. */
export function cutChars(text: string, maxChars: number): string {
  const chars = Array.from(text);
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : text;
}

function jsonBytes(text: string): number {
  return utf8Length(JSON.stringify(text));
}
