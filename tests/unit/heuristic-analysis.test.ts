/**
 * The zero-key analyser on the labelled fixture corpus (tests/fixtures/analysis-labels.json): every
 * fixture is parsed with the real MIME parser and analysed; each label field is compared. The suite
 * prints the category confusion matrix and the per-field agreement, and demands ≥ 85 % overall.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Analysis,
  AnalysisSchema,
  CATEGORIES,
  emailForAnalysis,
  priorityBand,
} from '../../core/analysis.js';
import { parseEmail } from '../../core/email.js';
import { analyseHeuristically } from '../../core/heuristic-analysis.js';
import { FIXTURES, fixtureBytes } from '../support/fixtures.js';

interface Label {
  category: string;
  priority: 'low' | 'medium' | 'high';
  reply_needed: boolean;
  language: string;
  entities: { dates: boolean; amounts: boolean; people: string[] };
}

const labels = JSON.parse(readFileSync(path.join(FIXTURES, 'analysis-labels.json'), 'utf8')) as Record<
  string,
  Label
>;
const FIELDS = ['category', 'priority', 'reply_needed', 'language', 'entities'] as const;

function agreement(label: Label, got: Analysis): Record<(typeof FIELDS)[number], boolean> {
  const people = got.entities.people.map((p) => p.toLowerCase());
  return {
    category: got.category === label.category,
    priority: priorityBand(got.priority) === label.priority,
    reply_needed: got.reply_needed === label.reply_needed,
    language: got.language === label.language,
    entities:
      got.entities.dates.length > 0 === label.entities.dates &&
      got.entities.amounts.length > 0 === label.entities.amounts &&
      label.entities.people.every((p) => people.some((q) => q.includes(p.toLowerCase()))),
  };
}

describe('heuristic analyser on the fixture corpus', () => {
  it('agrees with the labels on at least 85 % of fields, and prints the confusion', async () => {
    const names = Object.keys(labels);
    expect(names.length).toBeGreaterThanOrEqual(25);
    const confusion = new Map<string, number>();
    const fieldHits = Object.fromEntries(FIELDS.map((f) => [f, 0])) as Record<
      (typeof FIELDS)[number],
      number
    >;
    const misses: string[] = [];
    for (const name of names) {
      const parsed = await parseEmail(new Uint8Array(fixtureBytes(name)), { maxEmailBytes: 1 << 20 });
      const got = analyseHeuristically(emailForAnalysis(parsed));
      // Whatever it answers is a valid analysis (the schema every provider shares).
      expect(AnalysisSchema.safeParse(got).success).toBe(true);
      const label = labels[name]!;
      const key = `${label.category}→${got.category}`;
      confusion.set(key, (confusion.get(key) ?? 0) + 1);
      for (const [field, ok] of Object.entries(agreement(label, got))) {
        if (ok) fieldHits[field as (typeof FIELDS)[number]]++;
        else
          misses.push(
            `${name}: ${field} expected ${JSON.stringify(label[field as keyof Label])}, got ${JSON.stringify(field === 'priority' ? got.priority : got[field as keyof Analysis])}`,
          );
      }
    }

    const header = ['expected \\ got', ...CATEGORIES].map((c) => c.padEnd(15)).join('');
    const rows = CATEGORIES.map(
      (expected) =>
        expected.padEnd(15) +
        CATEGORIES.map((g) => String(confusion.get(`${expected}→${g}`) ?? '.').padEnd(15)).join(''),
    );
    const perField = FIELDS.map((f) => `${f} ${((100 * fieldHits[f]) / names.length).toFixed(0)}%`);
    const total = Object.values(fieldHits).reduce((a, b) => a + b, 0);
    const overall = total / (names.length * FIELDS.length);
    process.stdout.write(
      `\nHeuristic analyser, ${names.length} fixtures — category confusion:\n${header}\n${rows.join('\n')}\n` +
        `agreement: ${perField.join(', ')}; overall ${(100 * overall).toFixed(1)}%\n` +
        (misses.length ? `misses:\n  ${misses.join('\n  ')}\n` : ''),
    );
    expect(overall).toBeGreaterThanOrEqual(0.85);
    expect(fieldHits.category / names.length).toBeGreaterThanOrEqual(0.85);
  });

  it('is deterministic and reads the message, not a constant', async () => {
    const a = await parseEmail(new Uint8Array(fixtureBytes('finance-invoice-en.eml')), {
      maxEmailBytes: 1 << 20,
    });
    const first = analyseHeuristically(emailForAnalysis(a));
    expect(analyseHeuristically(emailForAnalysis(a))).toEqual(first);
    expect(first.entities.amounts).toContainEqual({ value: 1284.5, currency: 'USD' });
    expect(first.entities.dates).toContain('2026-12-01');
    expect(first.summary).toContain('INV-2026-1147');
  });
});
