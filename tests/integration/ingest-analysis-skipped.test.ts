/**
 * Analysis never costs an ingestion: when no analysis can be planned (here, no active prompt for the
 * configured provider), the email is stored, the run completes, and its details say why nothing was
 * analysed. Uses `zhipu`, a provider no other test file serves, so deactivating its prompt is private.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv } from '../support/harness.js';
import { type LlmStandIn, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import { connectStdio, ingestToEnd } from '../support/mcp-clients.js';

describe('ingestion when analysis cannot start', () => {
  let llm: LlmStandIn;
  let stack: Stack;
  let mcp: McpClient;

  beforeAll(async () => {
    llm = await startLlmStandIn();
    const env = testEnv(standInEnv(llm, { AI_PROVIDER: 'zhipu' }));
    stack = await startTestStack(env);
    mcp = await connectStdio(env);
    await stack.sql`
      update public.system_prompts set is_active = false
      where tool_name = 'analyze_email' and provider = 'zhipu' and version = 1`;
  });
  afterAll(async () => {
    if (stack)
      await stack.sql`
      update public.system_prompts set is_active = true
      where tool_name = 'analyze_email' and provider = 'zhipu' and version = 1`;
    await mcp?.close();
    await stack?.shutdown();
    await llm?.close();
  });

  it('stores the email and says why it was not analysed', async () => {
    const out = await ingestToEnd<{
      status: string;
      workflowId: string;
      emailId: string;
      analysisWorkflowId: null;
    }>(mcp, { raw: fixture('quarterly-report.eml') });
    expect(out).toMatchObject({ status: 'completed', analysisWorkflowId: null });
    const description = await stack.client.workflow.getHandle(out.workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    // The run's current details, as the Temporal UI shows them.
    const query = await stack.client.workflow
      .getHandle(out.workflowId)
      .query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(query.currentDetails).toMatch(
      /Analysis not started: NoActivePrompt: no active analyze_email prompt for provider zhipu/,
    );
    expect(llm.calls).toHaveLength(0);
    const [row] = await stack.sql`select status, ai_analysis from public.emails where id = ${out.emailId}`;
    expect(row).toEqual({ status: 'stored', ai_analysis: null });
  });
});
