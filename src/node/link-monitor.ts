// Netlink link events for the sysfs discovery cache: a long-running `ip -o monitor link` child;
// every line it prints (a link added, removed, renamed, moved) calls `onChange`. The discovery
// also checks the netdev list itself on every reconcile, so a monitor that dies only delays a
// rename until the next resync; it is restarted with a delay.

import { startLineMonitor, type LineMonitor } from '../util/line-monitor.js';

export type LinkMonitor = LineMonitor;

export function startLinkMonitor(
  onChange: (line: string) => void,
  onError: (message: string) => void,
  ipBinary = 'ip',
  restartMs = 5000,
): LinkMonitor {
  return startLineMonitor({ file: ipBinary, args: ['-o', 'monitor', 'link'] }, onChange, onError, restartMs);
}
