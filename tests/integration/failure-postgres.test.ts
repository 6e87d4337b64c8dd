/**
 * core/failure.ts on real Postgres errors (the services half of tests/unit/failure.test.ts): a driver error
 * is InternalError with a reference and its text goes only to the log; Postgres refusing text and our SQL
 * functions' SQLSTATEs become the types callers read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure, failureText } from '../../core/failure.js';
import type { Logger } from '../../core/logger.js';
import { toolError } from '../../mcp/tool-result.js';
import { testDb } from '../support/harness.js';
import { textOf } from '../support/mcp-clients.js';

function capturingLogger(lines: unknown[]): Logger {
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (msg, fields) => lines.push({ msg, ...fields }),
    child: () => log,
  };
  return log;
}

describe('describeFailure', () => {
  const sql = testDb();
  afterAll(() => sql.end());

  it('a real Postgres error is InternalError with a reference; the driver text goes only to the log', async () => {
    const err = await sql`select 1 / 0`.catch((e: unknown) => e);
    const lines: unknown[] = [];
    const text = textOf(toolError(err, capturingLogger(lines), 'search_emails'));
    expect(text).toMatch(
      /^InternalError: an unexpected error occurred \(reference [0-9a-f]{12}: the operator finds the details in the server log under it\)$/,
    );
    const ref = /reference ([0-9a-f]{12})/.exec(text)![1];
    expect(lines).toEqual([
      expect.objectContaining({
        ref,
        tool: 'search_emails',
        detail: 'PostgresError 22012: division by zero',
      }),
    ]);
  });

  it('Postgres refusing text, and the SQL functions raising our SQLSTATEs', async () => {
    const nul = await sql`select convert_from('\\x00'::bytea, 'UTF8')`.catch((e: unknown) => e);
    expect(describeFailure(nul)).toEqual({
      type: 'InvalidInput',
      message: 'the text contains characters that cannot be stored (NUL or invalid UTF-8)',
    });
    const ours =
      await sql`do $$ begin raise exception 'a rollout is open' using errcode = 'DI409'; end $$`.catch(
        (e: unknown) => e,
      );
    expect(failureText(ours)).toBe('RolloutRunning: a rollout is open');
  });
});
