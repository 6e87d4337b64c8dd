/**
 * Prompt rollout: ship a candidate system-prompt version by stages (default 5 → 25 → 50 → 100 % of
 * traffic), gate each stage on measured quality against the baseline (the active version), and either
 * make the candidate active or roll it back.
 *
 * One run per tool/provider: the id is `prompt-rollout/<tool>/<provider>` and starts use the conflict
 * policy FAIL, so a second concurrent rollout is impossible (the database's one-open-rollout index is
 * the second wall). The workflow owns the `prompt_rollouts` row; the analysis path reads it to bucket
 * emails, so serving traffic never waits for Temporal.
 *
 * Steering (structure after temporalio/samples-typescript message-passing/safe-message-handlers):
 * signals pause/resume, validated updates promote/abort/setStage, query status. Handlers only queue a
 * request; the main loop applies requests in order (the PromptRollout class, prompt-rollout.state.ts), so the database is written by one coroutine and
 * never by two interleaved ones. Updates return once their request is applied.
 *
 * Days-long bakes are cheap: the wait is a timer, and the run continues as new before its history grows
 * large, carrying its state.
 */
import {
  allHandlersFinished,
  CancellationScope,
  ContinueAsNew,
  condition,
  continueAsNew,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  abortUpdate,
  type PromptRolloutInput,
  type PromptRolloutStatus,
  pauseSignal,
  promoteUpdate,
  resumeSignal,
  setStageUpdate,
  statusQuery,
} from './prompt-rollout.contract.js';
import { PromptRollout } from './prompt-rollout.state.js';

// ---- Workflow -------------------------------------------------------------------------------------

export async function promptRolloutWorkflow(input: PromptRolloutInput): Promise<PromptRolloutStatus> {
  const rollout = new PromptRollout(input);

  // Message handlers.
  setHandler(statusQuery, () => rollout.status());
  setHandler(pauseSignal, (by) => rollout.signal({ kind: 'pause', by }));
  setHandler(resumeSignal, (by) => rollout.signal({ kind: 'resume', by }));
  setHandler(promoteUpdate, (by) => rollout.update({ kind: 'promote', by }), {
    validator: (by) => rollout.validatePromote(by),
  });
  setHandler(
    setStageUpdate,
    (request) =>
      rollout.update({ kind: 'setStage', by: request, stage: input.stages.indexOf(request.percent) }),
    { validator: (request) => rollout.validateSetStage(request) },
  );
  setHandler(
    abortUpdate,
    (request) => rollout.update({ kind: 'abort', by: request, reason: request.reason }),
    {
      validator: (request) => rollout.validateAbort(request),
    },
  );

  // Main loop. Whatever ends it early, traffic never stays split without a workflow watching it:
  // a cancellation (e.g. from the Web UI) aborts, and a failure rolls back, before the run ends.
  try {
    for (;;) {
      if ((await rollout.run()) === 'done') break;
      // Continue as new once in-flight handlers finished; a request arriving meanwhile is applied first.
      await condition(() => allHandlersFinished() || rollout.hasQueued());
      if (!rollout.hasQueued()) {
        return await continueAsNew<typeof promptRolloutWorkflow>({ ...input, carried: rollout.s });
      }
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (rollout.s.opened && !rollout.finished) {
      const cancelled = isCancellation(err);
      await CancellationScope.nonCancellable(() =>
        rollout.finish(
          cancelled ? 'aborted' : 'rolled_back',
          cancelled
            ? 'the rollout workflow was cancelled'
            : `the rollout workflow failed: ${err instanceof Error ? err.message : String(err)}`,
          { actor: `workflow:${workflowInfo().workflowId}`, tenantId: input.tenantId },
        ),
      );
    }
    rollout.rejectLeftovers();
    await condition(allHandlersFinished);
    if (isCancellation(err)) return rollout.status();
    throw err;
  }
  rollout.rejectLeftovers();
  await condition(allHandlersFinished);
  return rollout.status();
}
