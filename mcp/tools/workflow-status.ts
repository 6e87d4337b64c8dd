import { z } from 'zod';

/** Workflow status as tools report it (Temporal's execution status, lower-cased). */
export const WorkflowStatus = z.enum([
  'running',
  'completed',
  'failed',
  'canceled',
  'terminated',
  'continued_as_new',
  'timed_out',
  'unknown',
]);
export type WorkflowStatus = z.infer<typeof WorkflowStatus>;

export function toWorkflowStatus(name: string): WorkflowStatus {
  const lower = name.toLowerCase();
  const parsed = WorkflowStatus.safeParse(lower === 'cancelled' ? 'canceled' : lower);
  return parsed.success ? parsed.data : 'unknown';
}
