/**
 * The provider's task queue is rate-limited by Temporal (maxTaskQueueActivitiesPerSecond, from
 * AI_RATE_LIMIT_PER_SECOND): 30 analyses started at once reach the stand-in at about 5 per second.
 * The assertion is a count of arrivals per one-second window at the stand-in, not a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../workers/stack.js';
import { runAnalysis, seedEmail } from '../support/analysis.js';
import { startTestStack, testEnv } from '../support/harness.js';
import { type LlmStandIn, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';

describe('per-provider rate limit', () => {
  let llm: LlmStandIn;
  let stack: Stack;

  beforeAll(async () => {
    llm = await startLlmStandIn();
    stack = await startTestStack(
      testEnv(
        standInEnv(llm, {
          AI_RATE_LIMIT_PER_SECOND: '5',
          // Concurrency is not what limits here: the queue's rate is.
          AI_MAX_CONCURRENCY: '30',
          AI_ANALYSIS_ON_INGEST: 'false',
        }),
      ),
    );
  });
  afterAll(async () => {
    await stack?.shutdown();
    await llm?.close();
  });

  it('30 analyses never exceed about 5 calls per second at the provider', async () => {
    const emails = await Promise.all(
      Array.from({ length: 30 }, () => seedEmail(stack.sql, stack.defaultTenant.id)),
    );
    const runs = await Promise.all(emails.map((id) => runAnalysis(stack, id)));
    expect(runs.every((r) => r.ok)).toBe(true);
    expect(llm.calls).toHaveLength(30);

    const first = llm.calls[0]!.at;
    const perWindow = new Map<number, number>();
    for (const call of llm.calls) {
      const window = Math.floor((call.at - first) / 1000);
      perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
    }
    const counts = [...perWindow.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
    process.stdout.write(`\narrivals per 1 s window at the stand-in: ${counts.join(', ')}\n`);
    // "About 5": the server's token bucket may let one extra call into a window at its edge.
    expect(Math.max(...counts)).toBeLessThanOrEqual(6);
    expect(perWindow.size).toBeGreaterThanOrEqual(5);
  });
});
