/**
 * The one place that turns any failure into what a caller reads: `{ type, message }`, `type` one of
 * ErrorType, the message safe to show (secrets redacted, no driver text, no stack). Everything that reports
 * a failure goes through here:
 *  - MCP tools render `Type: message` from `describeFailure` (mcp/tool-result.ts);
 *  - workflows that report a failure instead of failing use `failureText`;
 *  - the worker's activity interceptor converts whatever an activity throws with `toApplicationFailure`,
 *    so the history and the Temporal UI show the same type a caller reads.
 *
 * It looks through Temporal's wrappers (workflow failed, activity, child workflow, update, ServiceError
 * on start), and knows Postgres's, zod's and storage's errors by shape, so this module imports only
 * `@temporalio/common` and is safe in workflow code.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { ErrorType, isErrorType, UserFacingError } from './errors.js';
import { redactText } from './redact.js';

export interface FailureInfo {
  type: ErrorType;
  message: string;
}

/** A described failure; `detail` (InternalError only) is the redacted original, for the operator's log. */
export interface DescribedFailure extends FailureInfo {
  detail?: string;
}

/** SQLSTATEs the project's SQL functions raise (see the migrations), as the types users see. */
const BY_SQLSTATE: Record<string, ErrorType> = {
  DI404: ErrorType.NotFound,
  DI409: ErrorType.RolloutRunning,
  DI412: ErrorType.InvalidTransition,
  DI422: ErrorType.InvalidArgument,
};
/** Postgres is down, restarting, or refusing connections. */
const DB_DOWN_SQLSTATE = /^(08|57P0[123]|53300)/;
const DB_DOWN_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED: the Temporal service did not answer. */
const GRPC_UNREACHABLE = new Set([14, 4]);

type Step = DescribedFailure | { next: unknown; where?: string };

export function describeFailure(err: unknown): DescribedFailure {
  let current = err;
  let where: string | undefined;
  for (let depth = 0; depth < 16; depth++) {
    const step = describeOne(current, where);
    if ('next' in step) {
      current = step.next;
      where = step.where ?? where;
      continue;
    }
    return {
      type: step.type,
      message: redactText(step.message),
      ...(step.detail ? { detail: redactText(step.detail) } : {}),
    };
  }
  return internal(where, 'failure chain too deep');
}

/**
 * For data-access code whose callers branch on types (our SQL functions' SQLSTATEs): rethrow a failure a
 * user can act on as a UserFacingError of its type, anything else as it is.
 */
export function rethrowUserFacing(err: unknown): never {
  const { type, message } = describeFailure(err);
  if (type === ErrorType.InternalError) throw err;
  throw new UserFacingError(type, message);
}

/** "<Type>: message", as callers read it and as workflows record a failure they report. */
export function failureText(err: unknown): string {
  const { type, message } = describeFailure(err);
  return `${type}: ${message}`;
}

/**
 * What an activity throws, as Temporal should record it: failures a user can act on become an
 * ApplicationFailure of their type (non-retryable unless the error says a retry may help, with the wait
 * it asked for); anything unexpected stays retryable under its own class name, message and stack
 * redacted. Cancellation and Temporal's own failures pass through.
 */
export function toApplicationFailure(err: unknown, at: { attempt?: number } = {}): unknown {
  if (err instanceof TemporalFailure && !(err instanceof ApplicationFailure)) return err;
  if (err instanceof ApplicationFailure && !isErrorType(err.type)) return redactedCopy(err);
  const described = describeFailure(err);
  if (described.type === ErrorType.InternalError) {
    if (!(err instanceof Error)) return ApplicationFailure.retryable(described.detail ?? String(err));
    return redactedCopy(err);
  }
  const retry = retryOf(err, described.type);
  if (retry.retryable && outOfAttempts(err, at.attempt)) retry.retryable = false;
  return ApplicationFailure.create({
    type: described.type,
    message: described.message,
    nonRetryable: !retry.retryable,
    nextRetryDelay: retry.retryAfterMs,
  });
}

/**
 * Whether this failure ends the work at this attempt: it is not retryable, or its class allows fewer
 * attempts than the retry policy (a StorageFailure's `maxAttempts`, e.g. a full local disk) and this is
 * the last. Activities use it to record the failure (a `files` row marked failed) before giving up.
 */
export function givesUp(err: unknown, attempt: number): boolean {
  const described = describeFailure(err);
  if (described.type === ErrorType.InternalError) return false;
  return !retryOf(err, described.type).retryable || outOfAttempts(err, attempt);
}

function outOfAttempts(err: unknown, attempt: number | undefined): boolean {
  const max = isStorageFailure(err) ? err.maxAttempts : undefined;
  return typeof max === 'number' && typeof attempt === 'number' && attempt >= max;
}

function redactedCopy(err: Error): ApplicationFailure {
  const af = err instanceof ApplicationFailure ? err : undefined;
  const copy = ApplicationFailure.create({
    type: af?.type ?? err.name ?? 'Error',
    message: redactText(err.message),
    nonRetryable: af?.nonRetryable ?? false,
    nextRetryDelay: af?.nextRetryDelay,
    details: af?.details ?? undefined,
  });
  if (err.stack) copy.stack = redactText(err.stack);
  return copy;
}

function retryOf(err: unknown, type: ErrorType): { retryable: boolean; retryAfterMs?: number } {
  const e = err as { retryable?: unknown; retryAfterMs?: unknown; kind?: unknown; nonRetryable?: unknown };
  const retryAfterMs = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
  if (err instanceof ApplicationFailure) return { retryable: !err.nonRetryable, retryAfterMs };
  if (isStorageFailure(err)) return { retryable: err.kind === 'retry', retryAfterMs };
  if (type === ErrorType.DatabaseUnavailable || type === ErrorType.TemporalUnavailable) {
    return { retryable: true };
  }
  return { retryable: e.retryable === true, retryAfterMs };
}

function describeOne(err: unknown, where: string | undefined): Step {
  if (err === null || typeof err !== 'object') return internal(where, String(err));
  const e = err as Record<string, unknown> & { message?: unknown; name?: unknown; cause?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';

  if (isStorageFailure(err)) return describeStorage(err);
  // Temporal's failures (they come first: a TimeoutFailure has no `type`, an ApplicationFailure does).
  if (err instanceof ActivityFailure) {
    return e.cause ? { next: e.cause, where: `step ${err.activityType}` } : internal(where, message);
  }
  if (err instanceof ChildWorkflowFailure) {
    return e.cause ? { next: e.cause, where: `child run ${err.workflowType}` } : internal(where, message);
  }
  if (err instanceof TimeoutFailure) {
    return {
      type: ErrorType.TimedOut,
      message: `${where ?? 'the run'} timed out (${timeoutName(err.timeoutType)})`,
    };
  }
  if (err instanceof CancelledFailure) {
    return { type: ErrorType.Cancelled, message: `${where ?? 'the run'} was cancelled` };
  }
  if (err instanceof TerminatedFailure) {
    return { type: ErrorType.Terminated, message: `${where ?? 'the run'} was terminated` };
  }
  if (err instanceof ApplicationFailure) {
    if (isErrorType(err.type)) return { type: err.type, message };
    return internal(where, `${err.type ?? 'ApplicationFailure'}: ${message}`);
  }
  // Ours, and plain `{ type, message }` records (a failure read back from a row or a workflow result).
  if (isErrorType(e.type) && typeof e.message === 'string') return { type: e.type, message };

  switch (e.name) {
    case 'WorkflowFailedError':
    case 'WorkflowUpdateFailedError':
      return e.cause ? { next: e.cause } : internal(where, message);
    case 'WorkflowNotFoundError':
      return { type: ErrorType.NotFound, message: 'no such run' };
    case 'WorkflowUpdateRPCTimeoutOrCancelledError':
      return temporalUnavailable('the update');
    case 'ServiceError':
      if (isUnreachable(e.cause)) return temporalUnavailable(message);
      return internal(where, `${message}: ${causeText(e.cause)}`);
    case 'ZodError':
      return { type: ErrorType.InvalidInput, message: zodIssues(e.issues) };
    case 'PostgresError':
      return describePostgres(String(e.code ?? ''), message, where);
  }
  if (isUnreachable(err)) return temporalUnavailable('the call');
  if (typeof e.code === 'string' && DB_DOWN_CODES.has(e.code)) {
    return {
      type: ErrorType.DatabaseUnavailable,
      message: 'the database cannot be reached right now; try again in a moment',
    };
  }
  return internal(where, err instanceof Error ? `${err.name}: ${message}` : JSON.stringify(err));
}

function describePostgres(code: string, message: string, where: string | undefined): Step {
  const mapped = BY_SQLSTATE[code];
  // Our SQL functions' own words, written for the caller.
  if (mapped) return { type: mapped, message };
  if (DB_DOWN_SQLSTATE.test(code)) {
    return {
      type: ErrorType.DatabaseUnavailable,
      message: 'the database is unavailable (restarting or refusing connections); try again in a moment',
    };
  }
  if (code === '22021' || code === '22P05') {
    return {
      type: ErrorType.InvalidInput,
      message: 'the text contains characters that cannot be stored (NUL or invalid UTF-8)',
    };
  }
  return internal(where, `PostgresError ${code}: ${message}`);
}

interface StorageFailureShape {
  kind: 'retry' | 'fatal' | 'exists';
  type: string;
  message: string;
  maxAttempts?: number;
}

function isStorageFailure(err: unknown): err is StorageFailureShape {
  const e = err as { name?: unknown; kind?: unknown; type?: unknown };
  return e?.name === 'StorageFailure' && typeof e.kind === 'string' && typeof e.type === 'string';
}

function describeStorage(err: StorageFailureShape): FailureInfo {
  if (err.kind === 'retry') {
    return {
      type: ErrorType.StorageUnavailable,
      message: `storage kept failing (${err.type}): ${err.message}`,
    };
  }
  if (isErrorType(err.type)) return { type: err.type, message: err.message };
  return {
    type: ErrorType.StorageRefused,
    message: `storage refused the request (${err.type}): ${err.message}`,
  };
}

function internal(where: string | undefined, detail: string): DescribedFailure {
  return {
    type: ErrorType.InternalError,
    message: `an unexpected error occurred${where ? ` in ${where}` : ''}`,
    detail,
  };
}

function temporalUnavailable(what: string): FailureInfo {
  return {
    type: ErrorType.TemporalUnavailable,
    message: `the Temporal service cannot be reached (${what.toLowerCase()}); try again in a moment`,
  };
}

function isUnreachable(cause: unknown): boolean {
  const c = cause as { code?: unknown; details?: unknown };
  return typeof c?.code === 'number' && 'details' in (c as object) && GRPC_UNREACHABLE.has(c.code);
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function timeoutName(timeoutType: unknown): string {
  return String(timeoutType ?? 'timeout')
    .toLowerCase()
    .replace(/_/g, ' ');
}

/** zod's issues as one line: `path: message; …`, at most ten. */
export function zodIssues(issues: unknown): string {
  if (!Array.isArray(issues)) return 'invalid input';
  return issues
    .slice(0, 10)
    .map((issue: { path?: unknown; message?: unknown }) => {
      const path = Array.isArray(issue.path) && issue.path.length ? issue.path.join('.') : '(input)';
      return `${path}: ${String(issue.message ?? 'invalid')}`;
    })
    .join('; ');
}
