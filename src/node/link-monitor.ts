// Netlink link events for the sysfs discovery cache: a long-running `ip -o monitor link` child;
// every line it prints (a link added, removed, renamed, moved) calls `onChange`. The discovery
// also checks the netdev list itself on every reconcile, so a monitor that dies only delays a
// rename until the next resync; it is restarted with a delay.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LinkMonitor {
  stop(): void;
}

export function startLinkMonitor(
  onChange: (line: string) => void,
  onError: (message: string) => void,
  ipBinary = 'ip',
  restartMs = 5000,
): LinkMonitor {
  let child: ChildProcess | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    const c = spawn(ipBinary, ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child = c;
    createInterface({ input: c.stdout! }).on('line', (line) => onChange(line));
    c.on('error', (e) => onError(`link monitor: ${e.message}`));
    c.on('exit', (code) => {
      if (stopped) return;
      onError(`link monitor (${ipBinary} monitor link) exited with ${code}; restarting`);
      timer = setTimeout(start, restartMs);
      timer.unref();
    });
  };
  start();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      child?.kill();
    },
  };
}
