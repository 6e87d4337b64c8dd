/** Small helpers for benchmark figures. */
import { readdirSync, readFileSync } from 'node:fs';
import type { temporal } from '@temporalio/proto';
import { percentileCont } from '../../core/percentile.js';

/** `p` in percent (95 for p95). */
export function percentile(sorted: number[], p: number): number {
  return percentileCont(sorted, p / 100);
}

/** A history event's time, ms since the epoch (NaN without one). */
export function eventMs(e: temporal.api.history.v1.IHistoryEvent | undefined): number {
  return e?.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : Number.NaN;
}

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}

export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

function formatNumber(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}

/**
 * CPU time (user + system, ms) used so far by every live process of a process group (a child started
 * detached, as the Temporal dev server is), read from /proc; 0 where there is no /proc.
 */
export function groupCpuMs(pgid: number): number {
  let ticks = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const pid of entries) {
    try {
      // Fields after the command (which may hold spaces) start at state; pgrp is field 5, utime 14, stime 15.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on every Linux build the project runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
