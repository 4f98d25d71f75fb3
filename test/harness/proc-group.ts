// What an app started by launchApp holds: it leads its own process group, so its whole tree (a JVM behind a
// wrapper script, worker processes) is the processes of that group (Linux /proc).
import { readdirSync, readFileSync } from 'node:fs';

/** Resident memory (MiB) of every live process in the group `pgid`. */
export function groupRssMiB(pgid: number): number {
  let kib = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue; // state ppid pgrp ...
      const line = readFileSync(`/proc/${e}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
      kib += Number(line?.split(/\s+/)[1] ?? 0);
    } catch { /* the process ended meanwhile */ }
  }
  return kib / 1024;
}
