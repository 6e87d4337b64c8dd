/**
 * Analysis figures:
 * - the heuristic analyser per email over the fixture corpus, against parsing the same emails (baseline);
 * - one LLM call through the openai SDK plus JSON/zod validation, against a bare fetch of the same
 *   answer from the same local stand-in (baseline), i.e. what the client side adds per call;
 * - the token-budget cut of a 1 MB multilingual body.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chat, createLlmClient, parseAnalysis } from '../../activities/llm-provider.js';
import { PRESETS } from '../../core/ai-providers.js';
import { emailForAnalysis } from '../../core/analysis.js';
import { parseEmail } from '../../core/email.js';
import { analyseHeuristically } from '../../core/heuristic-analysis.js';
import { truncateToTokens } from '../../core/token-budget.js';
import { startLlmStandIn } from '../../tests/support/llm-stand-in.js';

async function time(label: string, n: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const perOp = (performance.now() - start) / n;
  process.stdout.write(`  ${label.padEnd(48)} ${(perOp * 1000).toFixed(1).padStart(9)} µs/op\n`);
  return perOp;
}

export async function benchAnalysis(): Promise<void> {
  const dir = path.resolve('tests/fixtures/emails');
  const raws = readdirSync(dir).map((f) => new Uint8Array(readFileSync(path.join(dir, f))));
  const parsed = await Promise.all(raws.map((r) => parseEmail(r, { maxEmailBytes: 1 << 24 })));
  const views = parsed.map(emailForAnalysis);
  const rounds = 200;

  process.stdout.write(`\nheuristic analyser, ${raws.length} fixture emails × ${rounds}\n`);
  let i = 0;
  const parse = await time('baseline: parse one email (postal-mime)', rounds * raws.length, () =>
    parseEmail(raws[i++ % raws.length]!, { maxEmailBytes: 1 << 24 }),
  );
  let j = 0;
  const heuristic = await time('analyse one parsed email (heuristic)', rounds * raws.length, () =>
    analyseHeuristically(views[j++ % views.length]!),
  );
  process.stdout.write(`  ratio analyse/parse ${(heuristic / parse).toFixed(2)}\n`);

  const llm = await startLlmStandIn();
  try {
    const settings = {
      ...PRESETS['openai-compatible'],
      provider: 'openai-compatible' as const,
      baseURL: llm.url,
      apiKey: 'bench',
      model: 'stand-in-1',
      ratePerSecond: 1000,
      maxConcurrency: 1,
      timeoutMs: 10_000,
      maxInputTokens: 6000,
    };
    const client = createLlmClient(settings);
    const messages = [{ role: 'user' as const, content: 'x'.repeat(4000) }];
    const calls = 300;
    process.stdout.write(`\nLLM call against the local stand-in, ${calls} sequential calls\n`);
    const bare = await time('baseline: bare fetch of the same answer', calls, async () => {
      const res = await fetch(`${llm.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
        body: JSON.stringify({ model: 'stand-in-1', messages }),
      });
      await res.json();
    });
    const sdk = await time('openai SDK call + JSON parse + zod validation', calls, async () => {
      const answer = await chat(client, settings, 'stand-in-1', messages, new AbortController().signal);
      if (!parseAnalysis(answer.content).ok) throw new Error('invalid');
    });
    process.stdout.write(`  ratio sdk/bare ${(sdk / bare).toFixed(2)}\n`);
  } finally {
    await llm.close();
  }

  const body = 'Quarterly numbers, 会議の資料, Grüße, emoji 😀 and more text. '.repeat(20_000);
  process.stdout.write(
    `\ntoken-budget cut of a ${(Buffer.byteLength(body) / 1e6).toFixed(1)} MB body to 6000 tokens\n`,
  );
  await time('truncateToTokens', 50, () => truncateToTokens(body, 6000));
}
