/**
 * dev-stack/ finds the project's own .cache, wherever the checkout lives: the Temporal CLI is cached (and
 * installed by pip or go) under this checkout's .cache/temporal-cli, never in a directory above it.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TEMPORAL_CLI_CACHE_DIR } from '../../dev-stack/temporal-cli.js';

describe('dev-stack paths', () => {
  it("caches the Temporal CLI in this checkout's .cache", () => {
    expect(DEFAULT_TEMPORAL_CLI_CACHE_DIR).toBe(path.resolve('.cache', 'temporal-cli'));
  });
});
