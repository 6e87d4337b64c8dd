/**
 * How a failure reads wherever a workflow reports one instead of failing (a failed attachment, a raw
 * message not archived, an analysis not started, an upload's reason): "<Type>: message" of the innermost
 * ApplicationFailure, the type users also see in the Temporal UI. Workflow code: no I/O.
 */
import { ApplicationFailure } from '@temporalio/workflow';

export function failureText(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
