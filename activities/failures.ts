/**
 * Activity errors carry their class: a UserFacingError (bad input: retrying cannot help) becomes a
 * non-retryable ApplicationFailure of the same type, readable in the Temporal UI; anything else is
 * rethrown as is, so Temporal retries it with backoff.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { UserFacingError } from '../core/errors.js';

export function classify(err: unknown): unknown {
  if (err instanceof UserFacingError) {
    return ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true });
  }
  return err;
}
