/**
 * The door every tool call passes through. Tools register on a ToolRegistry, which is the SDK's
 * `registerTool` with the same types, and each handler is wrapped once here:
 *  - text arguments that no database or mail system can hold (NUL, unpaired surrogates) are refused as
 *    `InvalidInput` before the tool runs, naming the argument;
 *  - anything a handler throws becomes one `Type: message` result (mcp/tool-result.ts), so a tool never
 *    needs a try/catch of its own and no error reaches a caller in any other shape;
 *  - when traces are exported, the call runs in a span, the root of the workflows it starts.
 * The SDK refuses some calls itself (arguments that fail the input schema, an unknown tool) with text of
 * its own; `adoptSdkRefusals` renders those in the same vocabulary.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { zodIssues } from '../core/failure.js';
import type { Logger } from '../core/logger.js';
import type { ToolContext } from './context.js';
import { toolError } from './tool-result.js';

export type ToolRegistry = Pick<McpServer, 'registerTool'>;

type AnyHandler = (...args: unknown[]) => CallToolResult | Promise<CallToolResult>;

export function guardedRegistry(
  server: McpServer,
  log: Logger,
  traceTool?: ToolContext['traceTool'],
): ToolRegistry {
  const registerTool = (name: string, config: unknown, handler: AnyHandler) => {
    const run: AnyHandler = async (...args) => {
      try {
        // With an input schema the SDK passes (args, extra), without one only (extra).
        if (args.length > 1) refuseUnsafeText(args[0]);
        return await handler(...args);
      } catch (err) {
        return toolError(err, log, name);
      }
    };
    const guarded: AnyHandler = traceTool ? (...args) => traceTool(name, async () => run(...args)) : run;
    return (server.registerTool as (n: string, c: unknown, h: AnyHandler) => unknown)(name, config, guarded);
  };
  return { registerTool: registerTool as McpServer['registerTool'] };
}

/**
 * The SDK answers schema failures with `MCP error -32602: Input validation error: Invalid arguments for
 * tool x: <zod issues as JSON>`, and an unknown tool with `MCP error -32602: Tool x not found`.
 * Its single rendering point is `createToolError`; route it through ours.
 */
export function adoptSdkRefusals(server: McpServer, log: Logger): void {
  const sdk = server as unknown as { createToolError(message: string): CallToolResult };
  sdk.createToolError = (message: string) => toolError(sdkRefusal(message), log, 'sdk');
}

function sdkRefusal(text: string): Error {
  const validation = /Input validation error: Invalid arguments for tool ([\w-]+): ([\s\S]*)$/.exec(text);
  if (validation) {
    return new UserFacingError(
      ErrorType.InvalidInput,
      `invalid arguments for ${validation[1]}: ${readableIssues(validation[2]!)}`,
    );
  }
  const unknown = /Tool ([\w-]+) not found/.exec(text);
  if (unknown) {
    return new UserFacingError(ErrorType.NotFound, `there is no tool "${unknown[1]}": see tools/list`);
  }
  const tooMany = /Invalid arguments for tool ([\w-]+): (arguments contain more than [\w ]+ elements)/.exec(
    text,
  );
  if (tooMany)
    return new UserFacingError(ErrorType.InvalidInput, `invalid arguments for ${tooMany[1]}: ${tooMany[2]}`);
  // Output validation and anything else the SDK says: our bug, not the caller's.
  return new Error(text);
}

function readableIssues(json: string): string {
  try {
    return zodIssues(JSON.parse(json));
  } catch {
    return json.slice(0, 500);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Refuse NUL and unpaired surrogates anywhere in the arguments, naming where. */
function refuseUnsafeText(value: unknown, path = ''): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
      throw new UserFacingError(
        ErrorType.InvalidInput,
        `${path || 'an argument'} contains a NUL character or invalid Unicode; text arguments must be ` +
          'well-formed text without NUL (send binary content base64-encoded)',
      );
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) refuseUnsafeText(item, `${path}[${i}]`);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) refuseUnsafeText(item, path ? `${path}.${key}` : key);
  }
}
