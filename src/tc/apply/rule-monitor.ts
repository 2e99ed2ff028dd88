// Deletions of tc rules as they happen: a long-running `tc monitor` child (in the runner's
// namespace, with its binary) whose deletion lines go to `onDeletion`. The agent uses it to read a
// device again within a reconcile when someone else deletes its qdisc, its entry filter or a live
// chain's filters, instead of waiting for the periodic resync (docs/reliability.md).

import { startLineMonitor, type LineMonitor } from '../../util/line-monitor.js';
import { parseRuleDeletion, type RuleDeletion } from './rule-deletions.js';
import type { Command } from './tc-runner.js';

export function startRuleMonitor(
  tc: Command,
  onDeletion: (d: RuleDeletion) => void,
  onError: (message: string) => void,
  restartMs = 5000,
): LineMonitor {
  return startLineMonitor(
    { file: tc.file, args: [...tc.args, 'monitor'] },
    (line) => {
      const d = parseRuleDeletion(line);
      if (d) onDeletion(d);
    },
    onError,
    restartMs,
  );
}
