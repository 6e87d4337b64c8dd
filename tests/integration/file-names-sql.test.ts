/**
 * The SQL cleaner of stored names (private.visible_file_name, migration 20261203002100) against the
 * JavaScript one (core/file-name.ts), over every Unicode code point: what one strips the other strips,
 * so names cleaned in the database read as names cleaned by the app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleFileName } from '../../core/file-name.js';
import type { Sql } from '../../supabase/db.js';
import { testDb } from '../support/harness.js';

/** Every scalar value but NUL (Postgres text cannot hold it), in chunks of one query each. */
function codePointChunks(size: number): string[] {
  const chunks: string[] = [];
  let chunk: string[] = [];
  for (let c = 1; c <= 0x10ffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    chunk.push(String.fromCodePoint(c));
    if (chunk.length === size) {
      chunks.push(chunk.join(''));
      chunk = [];
    }
  }
  if (chunk.length) chunks.push(chunk.join(''));
  return chunks;
}

describe('stored names are cleaned in SQL as the app cleans them', () => {
  let sql: Sql;
  beforeAll(() => {
    sql = testDb();
  });
  afterAll(() => sql?.end());

  it('private.visible_file_name strips exactly what visibleFileName strips, code point by code point', async () => {
    for (const text of codePointChunks(200_000)) {
      const [row] = await sql<{ clean: string }[]>`select private.visible_file_name(${text}) as clean`;
      const expected = visibleFileName(text);
      if (row!.clean !== expected) {
        const got = [...row!.clean];
        const want = [...expected];
        const at = want.findIndex((ch, i) => got[i] !== ch);
        const show = (ch?: string) => ch && `U+${ch.codePointAt(0)!.toString(16).toUpperCase()}`;
        expect(`first difference: SQL ${show(got[at])}, JS ${show(want[at])}`).toBe('no difference');
      }
    }
  });

  it.each([
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['zero\u200Bwidth\uFEFF.txt', 'zerowidth.txt'],
    ['tag\u{E0041}s\u{E007F}.txt', 'tags.txt'],
    ['Résumé 2026.pdf', 'Résumé 2026.pdf'],
  ])('%j becomes %j', async (name, clean) => {
    const [row] = await sql<{ clean: string }[]>`select private.visible_file_name(${name}) as clean`;
    expect(row!.clean).toBe(clean);
  });
});
