/**
 * The encrypting failure converter (temporal/failure-converter.ts): a received failure converted twice
 * (a run's failure and an update's, from one store step) keeps its message both times.
 */
import {
  ApplicationFailure,
  DefaultFailureConverter,
  defaultPayloadConverter,
  type ProtoFailure,
} from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureConverter } from '../../temporal/failure-converter.js';

const received = (converter: DefaultFailureConverter) =>
  // As a workflow receives a step's failure: decoded from the proto the server sent.
  converter.failureToError(
    converter.errorToFailure(
      ApplicationFailure.nonRetryable(
        'the header section is over the header size (MAX_HEADER_BYTES)',
        'HeadersTooLarge',
      ),
      defaultPayloadConverter,
    ),
    defaultPayloadConverter,
  );

const messageOf = (converter: DefaultFailureConverter, failure: ProtoFailure) =>
  converter.failureToError(failure, defaultPayloadConverter).message;

describe('the encrypting failure converter', () => {
  it('converts the same received failure twice with its message both times', () => {
    const err = received(failureConverter);
    const first = failureConverter.errorToFailure(err, defaultPayloadConverter);
    const second = failureConverter.errorToFailure(err, defaultPayloadConverter);
    expect(first.message).toBe('Encoded failure');
    expect(second.message).toBe('Encoded failure');
    expect(messageOf(failureConverter, first)).toBe(
      'the header section is over the header size (MAX_HEADER_BYTES)',
    );
    expect(messageOf(failureConverter, second)).toBe(
      'the header section is over the header size (MAX_HEADER_BYTES)',
    );
  });

  it("the SDK's own converter loses it the second time (why ours copies)", () => {
    const sdk = new DefaultFailureConverter({ encodeCommonAttributes: true });
    const err = received(sdk);
    sdk.errorToFailure(err, defaultPayloadConverter);
    expect(messageOf(sdk, sdk.errorToFailure(err, defaultPayloadConverter))).toBe('Encoded failure');
  });
});
