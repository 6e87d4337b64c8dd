/** Pieces every tool shares, so the same argument means the same thing everywhere. */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const tenantArg = z
  .string()
  .max(100)
  .optional()
  .describe('Organization id or slug; defaults to your own');

export const waitArg = z
  .boolean()
  .default(true)
  .describe('Wait for the result; returns status "running" before the client would time out');

/** Starts (or joins) a workflow keyed by its input: safe to call again with the same input. */
export const STARTS_IDEMPOTENT_WORKFLOW: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** Steers a running workflow or schedule (pause, abort, trigger…): changes state, and a repeat is not a no-op. */
export const STEERS_WORKFLOW: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: false,
};
