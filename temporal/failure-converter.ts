/**
 * The failure converter of every client and worker when payloads are encrypted: a failure's message and
 * stack trace travel as an encoded attribute (a payload), so the payload codec encrypts them like any
 * input or result. The server, its database and a Web UI without the codec server see "Encoded failure";
 * the failure's type, retryability and details stay readable where Temporal needs them.
 *
 * Loaded by path (`FAILURE_CONVERTER_PATH`): workflow code converts failures inside the sandbox, so the
 * worker's bundle must include this module.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
