/**
 * The fixture files, with no service behind them: unit tests import this, not harness.ts (which starts
 * stacks against the run's Temporal and Postgres).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.resolve('tests/fixtures');

export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, 'emails', name), 'utf8');
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, 'emails', name));
}
