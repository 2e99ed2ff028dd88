// A long-running child process whose output lines go to a callback (`ip monitor link`,
// `tc monitor`). If the child exits or cannot start, the error callback hears it and the child is
// started again after a delay, until stop().

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LineMonitor {
  stop(): void;
}

export interface MonitorCommand {
  file: string;
  args: string[];
}

export function startLineMonitor(
  cmd: MonitorCommand,
  onLine: (line: string) => void,
  onError: (message: string) => void,
  restartMs = 5000,
): LineMonitor {
  const shown = [cmd.file, ...cmd.args].join(' ');
  let child: ChildProcess | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    const c = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child = c;
    createInterface({ input: c.stdout! }).on('line', (line) => {
      if (!stopped) onLine(line);
    });
    c.on('error', (e) => onError(`${shown}: ${e.message}`));
    c.on('exit', (code) => {
      if (stopped) return;
      onError(`${shown} exited with ${code}; restarting in ${restartMs} ms`);
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
