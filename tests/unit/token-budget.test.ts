import { describe, expect, it } from 'vitest';
import { estimateTokens, TRUNCATION_MARK, truncateToTokens } from '../../core/token-budget.js';

describe('token budget', () => {
  it('costs CJK and emoji per character and English per ~4 characters', () => {
    expect(estimateTokens('a'.repeat(400))).toBe(100);
    expect(estimateTokens('会議'.repeat(50))).toBe(100);
    expect(estimateTokens('😀'.repeat(10))).toBe(10);
  });

  it('never cuts inside a multibyte character', () => {
    for (const text of [
      '😀'.repeat(500),
      'é'.repeat(999),
      '会議の資料'.repeat(300),
      `a${'🇩🇪'.repeat(300)}`,
    ]) {
      for (const budget of [1, 7, 33, 100]) {
        const { text: cut, truncated } = truncateToTokens(text, budget);
        expect(truncated).toBe(true);
        const body = cut.slice(0, -TRUNCATION_MARK.length);
        // A lone surrogate would not survive a UTF-8 round trip unchanged.
        expect(Buffer.from(body, 'utf8').toString('utf8')).toBe(body);
        expect(text.startsWith(body)).toBe(true);
        expect(estimateTokens(body)).toBeLessThanOrEqual(budget);
      }
    }
  });

  it('ends at a word boundary and leaves short text alone', () => {
    const text = 'The quarterly report is ready for review and the numbers look good. '.repeat(20);
    const { text: cut } = truncateToTokens(text, 50);
    expect(cut.endsWith(TRUNCATION_MARK)).toBe(true);
    expect(text.startsWith(`${cut.slice(0, -TRUNCATION_MARK.length)} `)).toBe(true);
    expect(truncateToTokens('short', 10)).toEqual({ text: 'short', truncated: false });
  });
});
