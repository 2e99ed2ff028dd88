// The CPU time the process has used so far, in ms, for the log lines that mark the cold start's
// steps: unlike their timestamps, it does not grow when other processes load the machine.

export function cpuMs(): number {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
}
