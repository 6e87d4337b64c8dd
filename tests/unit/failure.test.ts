/**
 * core/failure.ts, the one translator: real errors from Postgres, zod, Temporal's client and storage
 * become the types callers read; anything unexpected is InternalError with a reference, never the
 * driver's text; secrets are redacted wherever they appear. The cases that need a real Postgres are in
 * tests/integration/failure-postgres.test.ts.
 */
import { ServiceError, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { describeFailure, failureText, toApplicationFailure } from '../../core/failure.js';
import { redactText, registerSecrets, secretsOfEnvironment } from '../../core/redact.js';
import { StorageFailure } from '../../supabase/storage/errors.js';

describe('describeFailure', () => {
  it('a database that refuses connections is DatabaseUnavailable', async () => {
    const { createDb } = await import('../../supabase/db.js');
    const dead = createDb({ url: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
    const err = await dead`select 1`.catch((e: unknown) => e);
    await dead.end();
    expect(describeFailure(err).type).toBe('DatabaseUnavailable');
  });

  it("Temporal's wrappers: the innermost ApplicationFailure, timeouts, an unreachable service", () => {
    const inner = ApplicationFailure.create({
      type: 'EntityTooLarge',
      message: 'too big',
      nonRetryable: true,
    });
    const activity = new ActivityFailure(
      'Activity task failed',
      'uploadFileObject',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      'id',
      inner,
    );
    const failed = new WorkflowFailedError(
      'Workflow execution failed',
      activity,
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(describeFailure(failed)).toEqual({ type: 'EntityTooLarge', message: 'too big' });

    const timeout = new ActivityFailure(
      'Activity task timed out',
      'parseStagedEmail',
      '1',
      RetryState.TIMEOUT,
      'id',
      new TimeoutFailure(undefined, undefined, 'START_TO_CLOSE'),
    );
    expect(failureText(new WorkflowFailedError('failed', timeout, RetryState.TIMEOUT))).toBe(
      'TimedOut: step parseStagedEmail timed out (start to close)',
    );

    const unknownType = new ActivityFailure(
      'failed',
      'storeParsedEmail',
      '1',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      'id',
      ApplicationFailure.create({ type: 'PostgresError', message: 'relation "emails" does not exist' }),
    );
    expect(describeFailure(unknownType)).toMatchObject({
      type: 'InternalError',
      message: 'an unexpected error occurred in step storeParsedEmail',
    });

    const grpc = Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233'), {
      code: 14,
      details: 'connect ECONNREFUSED',
      metadata: {},
    });
    expect(failureText(new ServiceError('Failed to start Workflow', { cause: grpc }))).toBe(
      'TemporalUnavailable: the Temporal service cannot be reached (failed to start workflow); try again in a moment',
    );
    const invalid = Object.assign(new Error('3 INVALID_ARGUMENT: search attribute too big'), {
      code: 3,
      details: '',
      metadata: {},
    });
    expect(describeFailure(new ServiceError('Failed to start Workflow', { cause: invalid })).type).toBe(
      'InternalError',
    );
  });

  it('zod, storage and plain records', () => {
    const parsed = z.object({ days: z.number().int().min(1) }).safeParse({ days: 0 });
    expect(failureText(parsed.error)).toBe('InvalidInput: days: Too small: expected number to be >=1');
    expect(failureText(new StorageFailure('retry', 'Http503', 'upstream'))).toBe(
      'StorageUnavailable: storage kept failing (Http503): upstream',
    );
    expect(failureText(new StorageFailure('fatal', 'InvalidRequest', 'bad'))).toBe(
      'StorageRefused: storage refused the request (InvalidRequest): bad',
    );
    expect(describeFailure({ type: 'NotFound', message: 'gone' })).toEqual({
      type: 'NotFound',
      message: 'gone',
    });
    // Never "[object Object]", whatever is thrown.
    expect(failureText({ some: 'object' })).toBe('InternalError: an unexpected error occurred');
    expect(failureText('a string')).toBe('InternalError: an unexpected error occurred');
  });
});

describe('toApplicationFailure (the activity interceptor)', () => {
  it('keeps the retry decision and the wait the other side asked for', () => {
    const limited = toApplicationFailure(
      new UserFacingError(ErrorType.ProviderRateLimited, 'slow down', {
        retryable: true,
        retryAfterMs: 3000,
      }),
    ) as ApplicationFailure;
    expect(limited).toMatchObject({ type: 'ProviderRateLimited', nonRetryable: false, nextRetryDelay: 3000 });
    const bad = toApplicationFailure(
      new UserFacingError(ErrorType.InvalidEmail, 'no From'),
    ) as ApplicationFailure;
    expect(bad).toMatchObject({ type: 'InvalidEmail', nonRetryable: true });
    const storage = toApplicationFailure(
      new StorageFailure('retry', 'SlowDown', 'later', 2000),
    ) as ApplicationFailure;
    expect(storage).toMatchObject({ type: 'StorageUnavailable', nonRetryable: false, nextRetryDelay: 2000 });
  });

  it('an unexpected error stays retryable under its own name, redacted', () => {
    registerSecrets(['hunter2-database-password']);
    const err = new TypeError('cannot connect as postgres://app:hunter2-database-password@db/x');
    const failure = toApplicationFailure(err) as ApplicationFailure;
    expect(failure).toMatchObject({ type: 'TypeError', nonRetryable: false });
    expect(failure.message).toBe('cannot connect as postgres://app:***@db/x');
    expect(failure.stack).not.toContain('hunter2');
  });
});

describe('redactText', () => {
  it('removes configured secrets and credential-shaped text', () => {
    registerSecrets(
      secretsOfEnvironment({
        AI_API_KEY: 'plain-provider-key-123',
        DATABASE_URL: 'postgres://u:p%40ss-word-9@h/db',
        HOME: '/root',
      }),
    );
    expect(redactText('key plain-provider-key-123 refused')).toBe('key [redacted] refused');
    expect(redactText('password p@ss-word-9 and p%40ss-word-9')).toBe('password [redacted] and [redacted]');
    expect(redactText('Incorrect API key provided: sk-proj-abc***********************wxyz.')).toBe(
      'Incorrect API key provided: sk-[redacted]',
    );
    expect(redactText('Authorization: Bearer eyJhbGciOi.abc.def')).toBe('Authorization: Bearer [redacted]');
    expect(redactText('key di_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg')).toBe('key di_[redacted]');
    expect(redactText('/root is home')).toBe('/root is home');
  });
});
