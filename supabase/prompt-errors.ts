/**
 * The prompt functions of migration 20261123003000 raise custom SQLSTATEs; this turns them into the
 * error types users see (MCP errors, ApplicationFailure types), keeping Postgres's message.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';

const BY_SQLSTATE: Record<string, ErrorType> = {
  DI404: ErrorType.NotFound,
  DI409: ErrorType.RolloutRunning,
  DI412: ErrorType.InvalidTransition,
  DI422: ErrorType.InvalidArgument,
};

export function asPromptError(err: unknown): never {
  const code = (err as { code?: unknown }).code;
  const type = typeof code === 'string' ? BY_SQLSTATE[code] : undefined;
  if (type) throw new UserFacingError(type, (err as Error).message);
  throw err;
}
