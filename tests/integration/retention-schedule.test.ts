/**
 * The retention Temporal Schedule on the real dev server: a worker start creates it with the configured
 * spec and policies (and `npm run schedules` does too); a later start updates it without unpausing it;
 * it fires on its own; `pause` stops it; `trigger` runs it (also while paused); only operators may steer
 * it. Each schedule here has its own id and is deleted afterwards, so nothing keeps firing after the run.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionScheduleInfo } from '../../app/retention-schedule.js';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import type { RetentionReport, RetentionRollupWorkflow } from '../../workflows/retention-rollup.contract.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { CLI, callError, callOk, connectHttp } from '../support/mcp-clients.js';
import { privateDatabase } from '../support/private-db.js';

interface ScheduleOut {
  action: string;
  schedule: RetentionScheduleInfo;
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 45_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('retention schedule', () => {
  let env: Record<string, string>;
  let stack: Stack | undefined;
  let http: RunningHttpServer | undefined;
  let admin: McpClient | undefined;
  let adminKey: string;
  const scheduleIds: string[] = [];

  /** Start (or restart) the stack with these settings, and connect the operator's MCP client. */
  async function start(overrides: Record<string, string> = {}) {
    await stop();
    stack = await startTestStack({ ...env, ...overrides });
    http = await startMcpHttp(stack, createLogger('warn'));
    adminKey ??= generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'operator', adminKey, 'admin');
    admin = await connectHttp(http.url, adminKey);
  }
  async function stop() {
    await admin?.close();
    await http?.close();
    await stack?.shutdown();
  }
  const describeSchedule = () =>
    callOk<ScheduleOut>(admin!, 'retention_schedule', { action: 'describe' }).then((o) => o.schedule);

  beforeAll(async () => {
    env = testEnv({
      DATABASE_URL: await privateDatabase('retention_schedule'),
      MCP_HTTP_PORT: '0',
      RETENTION_SCHEDULE_ENABLED: 'true',
      RETENTION_SCHEDULE_ID: uniqueName('retention-rollup-test'),
    });
    scheduleIds.push(env.RETENTION_SCHEDULE_ID!);
  });

  afterAll(async () => {
    for (const id of scheduleIds) {
      await stack?.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => {});
    }
    await stop();
  });

  it('exists after worker start with the configured spec and policies', async () => {
    await start();
    const schedule = await describeSchedule();
    expect(schedule).toMatchObject({
      scheduleId: env.RETENTION_SCHEDULE_ID,
      paused: false,
      everySeconds: 3600,
      offsetSeconds: 300,
      overlap: 'SKIP',
      catchupWindowSeconds: 86_400,
      workflowType: 'retentionRollupWorkflow',
      taskQueue: env.TEMPORAL_TASK_QUEUE,
    });
    expect(new Date(schedule.nextRuns[0]!).getUTCMinutes()).toBe(5);
    const description = await stack!.client.schedule.getHandle(env.RETENTION_SCHEDULE_ID!).describe();
    expect(description.action.args).toEqual([{ policy: stack!.config.retention.policy }]);
  });

  it('fires on its own; pause stops it and survives a worker restart; trigger runs it', async () => {
    // A restart with another interval updates the schedule in place (no error, no second schedule).
    await start({ RETENTION_SCHEDULE_EVERY: '2s', RETENTION_SCHEDULE_OFFSET: '0' });
    expect((await describeSchedule()).everySeconds).toBe(2);
    const firing = await until('two scheduled runs', describeSchedule, (s) => s.actionsTaken >= 2);
    const first = firing.recentRuns[0]!;
    const report = await stack!.client.workflow.getHandle<RetentionRollupWorkflow>(first.workflowId).result();
    expect(report.scope).toBe('all');
    expect(report.asOf).toBe(new Date(first.scheduledAt).toISOString().replace(/\.\d{3}Z$/, '.000Z'));

    const paused = await callOk<ScheduleOut>(admin!, 'retention_schedule', {
      action: 'pause',
      note: 'maintenance window',
    });
    expect(paused.schedule).toMatchObject({ paused: true, note: 'maintenance window' });
    const settled = await until('running actions to finish', describeSchedule, (s) => s.running.length === 0);
    // Three intervals later, still no new action.
    await new Promise((r) => setTimeout(r, 6000));
    expect((await describeSchedule()).actionsTaken).toBe(settled.actionsTaken);

    // A worker start while paused brings the spec up to date and leaves it paused.
    await start({ RETENTION_SCHEDULE_EVERY: '2s', RETENTION_SCHEDULE_OFFSET: '0' });
    expect(await describeSchedule()).toMatchObject({ paused: true, note: 'maintenance window' });

    const triggered = await callOk<ScheduleOut>(admin!, 'retention_schedule', { action: 'trigger' });
    expect(triggered.action).toBe('trigger');
    const after = await until(
      'the triggered run',
      describeSchedule,
      (s) => s.actionsTaken === settled.actionsTaken + 1,
    );
    const run = after.recentRuns.at(-1)!;
    const triggeredReport: RetentionReport = await stack!.client.workflow.getHandle(run.workflowId).result();
    expect(triggeredReport.dryRun).toBe(false);
    expect((await describeSchedule()).paused).toBe(true);
  });

  it('only operators may steer it; anyone may look', async () => {
    const other = await ensureOrganization(stack!.sql, uniqueName('org-x'));
    const ownerKey = generateApiKey();
    // An admin of another organization is not an operator of this deployment.
    await registerApiKey(stack!.sql, other.id, 'admin', ownerKey, 'admin');
    const outsider = await connectHttp(http!.url, ownerKey);
    const memberKey = generateApiKey();
    await registerApiKey(stack!.sql, stack!.defaultTenant.id, 'member', memberKey, 'member');
    const member = await connectHttp(http!.url, memberKey);
    try {
      expect(await callError(outsider, 'retention_schedule', { action: 'unpause' })).toMatch(
        /^Forbidden: unpause on the retention schedule is for the operators/,
      );
      expect(await callError(member, 'retention_schedule', { action: 'trigger' })).toMatch(
        /^Forbidden: changing the retention schedule needs the owner or admin role; this identity is member/,
      );
      expect(
        (await callOk<ScheduleOut>(member, 'retention_schedule', { action: 'describe' })).schedule.paused,
      ).toBe(true);
      expect(
        await callError(admin!, 'retention_schedule', {
          action: 'backfill',
          from: '2026-01-02T00:00:00Z',
          to: '2026-01-01T00:00:00Z',
        }),
      ).toMatch(/^InvalidArgument: backfill needs a valid range: .*from must be before to/);
      expect(await callError(admin!, 'retention_schedule', { action: 'backfill' })).toMatch(
        /^InvalidArgument: /,
      );
      const audit = await stack!.sql<{ action: string }[]>`
        select action from public.audit_log where tenant_id = ${stack!.defaultTenant.id} order by id`;
      expect(audit.map((a) => a.action)).toEqual(['retention.schedule.pause', 'retention.schedule.trigger']);
    } finally {
      await outsider.close();
      await member.close();
    }
  });

  it('`npm run schedules` creates or updates it and prints it', async () => {
    const id = uniqueName('retention-cli-test');
    scheduleIds.push(id);
    const run = () =>
      promisify(execFile)(process.execPath, [CLI, 'schedules'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          ...env,
          RETENTION_SCHEDULE_ID: id,
          // Asking explicitly applies it whatever the worker setting says.
          RETENTION_SCHEDULE_ENABLED: 'false',
        },
      });
    expect((await run()).stdout).toMatch(new RegExp(`^created schedule ${id}\\n`));
    const second = await run();
    expect(second.stdout).toMatch(new RegExp(`^updated schedule ${id}\\n`));
    expect(second.stdout).toContain('"overlap": "SKIP"');
    const description = await stack!.client.schedule.getHandle(id).describe();
    expect(description.spec.intervals).toEqual([{ every: 3_600_000, offset: 300_000 }]);
    await stack!.client.schedule.getHandle(id).pause('test over');
  });
});
