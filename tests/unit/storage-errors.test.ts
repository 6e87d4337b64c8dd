import { describe, expect, it } from 'vitest';
import { classifyStorageResponse, networkFailure, parseRetryAfter } from '../../supabase/storage/errors.js';

/** Bodies as Supabase Storage sends them: the meaning is in statusCode/code, not the HTTP status. */
describe('classifyStorageResponse', () => {
  it.each([
    [
      400,
      {
        statusCode: '413',
        error: 'Payload too large',
        message: 'The object exceeded the maximum allowed size',
      },
      'fatal',
      'EntityTooLarge',
    ],
    [
      400,
      { statusCode: '415', error: 'invalid_mime_type', message: 'mime type text/x is not supported' },
      'fatal',
      'InvalidMimeType',
    ],
    [
      400,
      { statusCode: '404', error: 'Bucket not found', message: 'Bucket not found' },
      'fatal',
      'NoSuchBucket',
    ],
    [
      400,
      {
        statusCode: '403',
        code: 'AccessDenied',
        error: 'Unauthorized',
        message: 'new row violates row-level security policy',
      },
      'fatal',
      'AccessDenied',
    ],
    [
      400,
      { statusCode: '400', code: 'InvalidKey', error: 'Invalid key', message: 'Invalid key: a/../b' },
      'fatal',
      'InvalidKey',
    ],
    [
      400,
      { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' },
      'exists',
      'Duplicate',
    ],
    [
      503,
      { statusCode: '503', code: 'SlowDown', message: 'Please reduce your request rate' },
      'retry',
      'SlowDown',
    ],
    [503, { statusCode: '503', code: 'LockTimeout', message: 'lock timeout' }, 'retry', 'LockTimeout'],
    [423, { statusCode: '423', code: 'ResourceLocked', message: 'locked' }, 'retry', 'ResourceLocked'],
    [500, { statusCode: '500', error: 'Internal', message: 'boom' }, 'retry', 'Http500'],
    [520, undefined, 'retry', 'Http520'],
    [544, { statusCode: '544', message: 'database timeout' }, 'retry', 'Http544'],
    [502, undefined, 'retry', 'Http502'],
    [400, { statusCode: '400', error: 'Bad Request', message: 'missing header' }, 'fatal', 'InvalidRequest'],
  ])('HTTP %i %j → %s %s', (httpStatus, body, kind, type) => {
    const failure = classifyStorageResponse({ httpStatus, body });
    expect(failure.kind).toBe(kind);
    expect(failure.type).toBe(type);
  });

  it('honours Retry-After on 429 and SlowDown', () => {
    expect(classifyStorageResponse({ httpStatus: 429, body: {}, retryAfter: '2' })).toMatchObject({
      kind: 'retry',
      type: 'SlowDown',
      retryAfterMs: 2000,
    });
    expect(
      parseRetryAfter('Wed, 21 Oct 2026 07:28:05 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT')),
    ).toBe(5000);
    expect(parseRetryAfter('99999')).toBe(600_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('keeps the service message for the user', () => {
    const failure = classifyStorageResponse({
      httpStatus: 400,
      body: {
        statusCode: '413',
        error: 'Payload too large',
        message: 'The object exceeded the maximum allowed size',
      },
    });
    expect(failure.message).toBe('The object exceeded the maximum allowed size');
  });

  it('treats failures below HTTP as retryable network errors', () => {
    const err = new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    expect(networkFailure(err)).toMatchObject({ kind: 'retry', type: 'NetworkError' });
    expect(networkFailure(err).message).toContain('ECONNRESET');
  });
});
