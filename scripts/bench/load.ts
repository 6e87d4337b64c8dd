/**
 * What else the machine was doing while a bench ran: the 1-minute load average (`uptime`'s first
 * figure) against the core count, and CPU time of a process between two points.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** `load 3.10 on 2 cores`: printed with every bench figure, since the machine is shared. */
export function loadNote(): string {
  const [one, five] = os.loadavg();
  return `load ${one!.toFixed(2)} (5 min ${five!.toFixed(2)}) on ${os.cpus().length} cores`;
}

/**
 * CPU ms (user + system) so far of a process and all its descendants, from /proc (Linux); children that
 * ended count through their parent's cutime/cstime (a Postgres backend whose connection closed).
 */
export function treeCpuMs(rootPid: number): number {
  const stats = readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return [];
    try {
      // Fields after the command (which may hold spaces) start at its closing parenthesis.
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return [
        {
          pid: Number(d),
          ppid: Number(f[1]),
          ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
        },
      ];
    } catch {
      return []; // gone meanwhile
    }
  });
  const inTree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of stats)
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        grew = true;
      }
  }
  return stats.filter((s) => inTree.has(s.pid)).reduce((sum, s) => sum + s.ticks, 0) * TICK_MS;
}

/** Linux's USER_HZ is 100 on every architecture Node runs on. */
const TICK_MS = 10;

/** Peak resident set (VmHWM) of a process in MiB, from /proc; NaN once it has gone. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/** Resident set now (VmRSS) of a process in MiB. */
export function rssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU ms (user + system) of this process so far. */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A process's parent (the postmaster of a Postgres backend); 0 when it has gone. */
export function parentPid(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}
