import { describe, expect, it } from 'vitest';
import { retryDelayFromHeaders } from '../../core/retry-after.js';

const now = Date.parse('2026-11-23T12:00:00Z');
const from = (headers: Record<string, string>) => retryDelayFromHeaders((n) => headers[n], now);

describe('retryDelayFromHeaders', () => {
  it('reads the forms providers send', () => {
    expect(from({ 'retry-after': '2' })).toBe(2000);
    expect(from({ 'retry-after': 'Mon, 23 Nov 2026 12:00:30 GMT' })).toBe(30_000);
    expect(from({ 'retry-after-ms': '1500', 'retry-after': '9' })).toBe(1500);
    expect(from({ 'x-ratelimit-reset-requests': '6m0s' })).toBe(360_000);
    expect(from({ 'x-ratelimit-reset-tokens': '250ms' })).toBe(250);
    expect(from({ 'x-ratelimit-reset': '3' })).toBe(3000);
    expect(from({ 'x-ratelimit-reset': String(now / 1000 + 20) })).toBe(20_000);
  });

  it('ignores garbage and caps absurd waits', () => {
    expect(from({})).toBeUndefined();
    expect(from({ 'retry-after': 'soon' })).toBeUndefined();
    expect(from({ 'retry-after': '86400' })).toBe(600_000);
  });
});
