#!/usr/bin/env node
// Launcher: run the TypeScript entry point through tsx, so `npx durable-inbox` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../workers/cli.ts');
