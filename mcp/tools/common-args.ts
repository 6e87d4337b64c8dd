/** Input fields and annotations every workflow-starting tool shares, so they read the same everywhere. */
import { z } from 'zod';

export const tenantArg = z
  .string()
  .max(100)
  .optional()
  .describe('Organization id or slug; defaults to your own');
export const waitArg = z.boolean().default(true).describe('Wait for the result (bounded; see description)');

/** Tools that store something idempotently: they write, never destroy, and a repeat changes nothing. */
export const IDEMPOTENT_WRITE = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;
