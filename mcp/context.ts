/**
 * What every tool handler needs; built once per transport session. It is the application layer's deps:
 * a tool is its schemas plus one app call over them. Resources may also read archived raw messages from
 * storage when the server has it.
 */
import type { ResourceDeps } from '../app/resources.js';

export type ToolContext = ResourceDeps;
