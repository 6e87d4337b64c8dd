/**
 * Tool results. Success carries `structuredContent` (validated against the tool's output schema by the
 * SDK) plus the same JSON as text for clients that only read text. Errors carry `isError` and text that
 * always reads `Type: message` (core/failure.ts decides both); an unexpected error says only
 * `InternalError` and a reference, and the log line under that reference holds what happened.
 */
import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ErrorType } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import type { Logger } from '../core/logger.js';

export function toolResult(structured: Record<string, unknown>): CallToolResult {
  return {
    structuredContent: structured,
    content: [{ type: 'text', text: JSON.stringify(structured, null, 2) }],
  };
}

export function toolError(err: unknown, log: Logger, tool: string): CallToolResult {
  const { type, message, detail } = describeFailure(err);
  let text = `${type}: ${message}`;
  if (type === ErrorType.InternalError) {
    const ref = randomBytes(6).toString('hex');
    log.error('tool call failed unexpectedly', { tool, ref, detail, error: err });
    text += ` (reference ${ref}: the operator finds the details in the server log under it)`;
  }
  return { isError: true, content: [{ type: 'text', text }] };
}
