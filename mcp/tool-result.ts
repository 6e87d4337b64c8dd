/**
 * Tool results. Success carries `structuredContent` (validated against the tool's output schema by the
 * SDK) plus the same JSON as text for clients that only read text. Errors carry `isError` and a message
 * that starts with the failure type, e.g. "InvalidEmail: the message has no From address".
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ApplicationFailure, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { UserFacingError } from '../core/errors.js';

export function toolResult(structured: Record<string, unknown>): CallToolResult {
  return {
    structuredContent: structured,
    content: [{ type: 'text', text: JSON.stringify(structured, null, 2) }],
  };
}

export interface FailureInfo {
  type: string;
  message: string;
}

/** The user-readable type and message of an error, looking through Temporal's wrappers. */
export function failureInfo(err: unknown): FailureInfo {
  if (err instanceof UserFacingError) return { type: err.type, message: err.message };
  // An update's validator or handler refused: its ApplicationFailure says why.
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    return { type: err.cause.type ?? 'UpdateFailed', message: err.cause.message };
  }
  if (err instanceof WorkflowFailedError) {
    let cause: unknown = err.cause;
    // An activity failure wraps the ApplicationFailure the activity threw.
    while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause)
      cause = cause.cause;
    if (cause instanceof ApplicationFailure)
      return { type: cause.type ?? 'ApplicationFailure', message: cause.message };
    if (cause instanceof Error) return { type: cause.name, message: cause.message };
    return { type: 'WorkflowFailed', message: err.message };
  }
  if (err instanceof Error) return { type: err.name || 'Error', message: err.message };
  return { type: 'Error', message: String(err) };
}

export function toolError(err: unknown): CallToolResult {
  const { type, message } = failureInfo(err);
  return { isError: true, content: [{ type: 'text', text: `${type}: ${message}` }] };
}
