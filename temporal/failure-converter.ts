/**
 * The failure converter of every client and worker when payloads are encrypted: a failure's message and
 * stack trace travel as an encoded attribute (a payload), so the payload codec encrypts them like any
 * input or result. The server, its database and a Web UI without the codec server see "Encoded failure";
 * the failure's type, retryability and details stay readable where Temporal needs them.
 *
 * Loaded by path (`FAILURE_CONVERTER_PATH`): workflow code converts failures inside the sandbox, so the
 * worker's bundle must include this module; clients `require` it, so Node loads this file as it is
 * (no TypeScript-only syntax here: no type annotations, no `import type`).
 */
import { DefaultFailureConverter, TemporalFailure } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

/**
 * The SDK's converter returns a received failure's own proto (`err.failure`) and encodes it in place, so
 * the same error converted twice read "Encoded failure" the second time: the ingestion run throws its
 * store step's failure both as the run's failure and as the `stored` update's, and whichever was
 * converted second lost its message. Each conversion here encodes a copy.
 */
const encodeInPlace = failureConverter.errorToFailure.bind(failureConverter);
failureConverter.errorToFailure = (err, payloadConverter, context) => {
  if (!(err instanceof TemporalFailure) || !err.failure) return encodeInPlace(err, payloadConverter, context);
  const received = err.failure;
  err.failure = { ...received };
  try {
    return encodeInPlace(err, payloadConverter, context);
  } finally {
    err.failure = received;
  }
};
