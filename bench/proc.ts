/**
 * A process's (or one thread's) CPU time and RSS read from /proc (Linux), for benches that measure
 * a daqd child process or a floor server from outside.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU time in ticks of 1/100 s on Linux. */
const CLOCK_TICKS = 100;

/** CPU time (user + system) used so far, in ms: `/proc/PID/stat`, or `/proc/PID/task/TID/stat` for one thread. */
export function cpuMs(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Resident set size now, in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1000 : 0;
}
