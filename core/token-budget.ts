/**
 * Fit email text into a model's context by an estimate of tokens, not characters: English runs about
 * four characters per token, while CJK and most non-Latin scripts cost about one token per character,
 * so a character cut would either waste a Latin budget or overflow a Japanese one.
 *
 * Text is walked by code point (never by UTF-16 unit), so a cut can never split a surrogate pair, and it
 * prefers to end at a whitespace boundary so the model does not see half a word.
 */

/** Rough token cost of one code point. */
function costOf(codePoint: number): number {
  if (codePoint < 0x80) return 0.25;
  // Latin-1 supplement and Latin extended (accents): still mostly merged into word tokens.
  if (codePoint < 0x250) return 0.4;
  return 1;
}

export function estimateTokens(text: string): number {
  let total = 0;
  for (const ch of text) total += costOf(ch.codePointAt(0)!);
  return Math.ceil(total);
}

export const TRUNCATION_MARK = '\n[… truncated to fit the model context]';

/** The longest prefix of `text` that fits `maxTokens`, cut at a whitespace boundary when there is one. */
export function truncateToTokens(text: string, maxTokens: number): { text: string; truncated: boolean } {
  // One pass that stops at the budget: a 1 MB body costs no more than the part that fits.
  let used = 0;
  let end = 0;
  let lastSpace = -1;
  let fits = true;
  for (const ch of text) {
    const cost = costOf(ch.codePointAt(0)!);
    if (used + cost > maxTokens) {
      fits = false;
      break;
    }
    used += cost;
    end += ch.length;
    if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') lastSpace = end;
  }
  if (fits) return { text, truncated: false };
  // Prefer a word boundary, unless it would throw away most of the budget (e.g. text with no spaces).
  const cut = lastSpace > end * 0.8 ? lastSpace : end;
  return { text: text.slice(0, cut).trimEnd() + TRUNCATION_MARK, truncated: true };
}
