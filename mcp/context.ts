/**
 * What every tool handler needs; built once per transport session. It is the application layer's deps:
 * a tool is its schemas plus one app call over them.
 */
import type { AppDeps } from '../app/deps.js';

export type ToolContext = AppDeps;
