/**
 * What every tool handler needs; built once per transport session. It is the application layer's deps:
 * a tool is its schemas plus one app call over them. Resources may also read archived raw messages from
 * storage when the server has it.
 */
import type { ResourceDeps } from '../app/resources.js';
import type { Tracing } from '../temporal/tracing.js';

/** `traceTool`: when traces are exported, every tool call runs in its span (mcp/tool-registry.ts). */
export type ToolContext = ResourceDeps & { traceTool?: Tracing['toolSpan'] };
