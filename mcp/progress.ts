/**
 * MCP progress notifications for a tool that waits on a workflow: when the client sent a progressToken,
 * poll the workflow's progress query and forward each change as `notifications/progress`.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { QueryDefinition } from '@temporalio/workflow';
import type { WaitOptions } from './wait.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;
export interface ProgressStep {
  step: number;
  total: number;
  message: string;
}

export function progressReporter<P>(
  extra: ToolExtra,
  query: QueryDefinition<P>,
  toStep: (p: P) => ProgressStep,
): { progress: WaitOptions<P>['progress']; finish: (last: ProgressStep) => Promise<void> } {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return { progress: undefined, finish: async () => {} };
  const send = (s: ProgressStep) =>
    extra.sendNotification({
      method: 'notifications/progress',
      params: { progressToken, progress: s.step, total: s.total, message: s.message },
    });
  // A fast run can finish between two polls, so callers `finish` with the last step themselves.
  return { progress: { query, onProgress: (p: P) => send(toStep(p)) }, finish: send };
}
