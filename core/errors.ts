/**
 * Failure types a user can act on. They become `ApplicationFailure.type` in Temporal (visible in the
 * Web UI) and the prefix of MCP tool errors, so they are part of the product's interface.
 */
export const ErrorType = {
  InvalidEmail: 'InvalidEmail',
  EmailTooLarge: 'EmailTooLarge',
  TooManyAttachments: 'TooManyAttachments',
  HeadersTooLarge: 'HeadersTooLarge',
  MimeTooDeep: 'MimeTooDeep',
  RawMessageMissing: 'RawMessageMissing',
  TenantNotFound: 'TenantNotFound',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  InvalidPath: 'InvalidPath',
  MailboxTooLarge: 'MailboxTooLarge',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * An error with a readable type, thrown by pure code (parsing, validation). Activities convert it into a
 * non-retryable ApplicationFailure of the same type; MCP tools turn it into an `isError` result.
 */
export class UserFacingError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}
