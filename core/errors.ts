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
  // Uploads (the first five are Supabase Storage's own error codes, so both backends speak the same words)
  EntityTooLarge: 'EntityTooLarge',
  InvalidMimeType: 'InvalidMimeType',
  NoSuchBucket: 'NoSuchBucket',
  AccessDenied: 'AccessDenied',
  InvalidKey: 'InvalidKey',
  /** Tool arguments that cannot work together or cannot be decoded (e.g. content that is not base64). */
  InvalidInput: 'InvalidInput',
  /** An import path outside the import directory, absolute, or otherwise unsafe. */
  InvalidPath: 'InvalidPath',
  MailboxTooLarge: 'MailboxTooLarge',
  /** The file to upload is gone (import file deleted, staged content expired). */
  SourceMissing: 'SourceMissing',
  /** The file's bytes no longer match the SHA-256 the upload was started for. */
  SourceChanged: 'SourceChanged',
  InvalidArgument: 'InvalidArgument',
  // AI analysis. Retried: rate limits, outages, timeouts. Not retried: the rest (retrying cannot help).
  ProviderRateLimited: 'ProviderRateLimited',
  ProviderUnavailable: 'ProviderUnavailable',
  ProviderTimeout: 'ProviderTimeout',
  ProviderAuth: 'ProviderAuth',
  ProviderBadRequest: 'ProviderBadRequest',
  ProviderContextLength: 'ProviderContextLength',
  ProviderNotConfigured: 'ProviderNotConfigured',
  InvalidModelOutput: 'InvalidModelOutput',
  NoActivePrompt: 'NoActivePrompt',
  // Prompt rollouts
  /** Another rollout of the same tool/provider is open. */
  RolloutRunning: 'RolloutRunning',
  /** A steering action the rollout's current state does not allow (e.g. abort after it finished). */
  InvalidTransition: 'InvalidTransition',
  /** A steering action the rollout accepted, but the run failed while applying it (it rolls back). */
  RolloutFailed: 'RolloutFailed',
  // IMAP mailboxes
  /** The IMAP server refused the login: the mailbox waits (needs_attention) for new credentials or resume. */
  MailboxAuthFailed: 'MailboxAuthFailed',
  /** The IMAP server cannot be reached or dropped the connection (retried with backoff by the sync). */
  MailboxUnavailable: 'MailboxUnavailable',
  /** A folder to sync does not exist on the server. */
  MailboxFolderNotFound: 'MailboxFolderNotFound',
  /** Credentials cannot be stored: MAILBOX_CREDENTIALS_KEY is not set (required outside the local default). */
  CredentialsKeyMissing: 'CredentialsKeyMissing',
  /** The worker derived another key for a message than the caller did (parser versions differ). */
  KeyMismatch: 'KeyMismatch',
  // Storage: the service kept failing after every retry, or refused with a code of its own.
  StorageUnavailable: 'StorageUnavailable',
  StorageRefused: 'StorageRefused',
  // Inbound mail (SMTP listener, inbound-parse webhooks)
  /** A recipient no tenant receives mail for (no inbound_addresses row, no `<slug>.localhost`). */
  UnknownRecipient: 'UnknownRecipient',
  /** A webhook whose signature, token or credentials do not verify; nothing was stored. */
  InvalidSignature: 'InvalidSignature',
  /** The inbound address or domain is routed to another organization already. */
  InboundAddressTaken: 'InboundAddressTaken',
  // Outgoing webhooks (app/webhooks.ts)
  /** A webhook URL that is not https, or whose host resolves to a private, loopback or other non-public address. */
  WebhookUrlRefused: 'WebhookUrlRefused',
  // Runs and the services under them
  /** A run (or one of its steps) ran out of time. */
  TimedOut: 'TimedOut',
  /** A run was cancelled before it finished. */
  Cancelled: 'Cancelled',
  /** A run was terminated by an operator or by the Temporal server. */
  Terminated: 'Terminated',
  /** The Temporal service cannot be reached; nothing was started. */
  TemporalUnavailable: 'TemporalUnavailable',
  /** The database cannot be reached or is shutting down. */
  DatabaseUnavailable: 'DatabaseUnavailable',
  /** Anything unexpected. The text carries a reference the operator finds in the server log. */
  InternalError: 'InternalError',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * An error with a readable type, thrown by pure code (parsing, validation). Activities convert it into a
 * non-retryable ApplicationFailure of the same type; MCP tools turn it into an `isError` result.
 */
export class UserFacingError extends Error {
  /** Whether a later attempt may succeed (a provider's rate limit); by default retrying cannot help. */
  readonly retryable: boolean;
  /** The wait the other side asked for (Retry-After), for the next attempt. */
  readonly retryAfterMs?: number;

  constructor(
    readonly type: ErrorType,
    message: string,
    options: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = type;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const KNOWN = new Set<string>(Object.values(ErrorType));

export function isErrorType(value: unknown): value is ErrorType {
  return typeof value === 'string' && KNOWN.has(value);
}
