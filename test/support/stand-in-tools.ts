// Stand-ins for `tc` and `ip` that record what the agent runs, for agent tests without a kernel.
// `tc -batch -` appends its input to writes.log; reads answer from files: qdiscs.json for
// `tc -j qdisc show`, dump-<dev>-<ingress|egress>.json for each `filter show` line of a read
// batch ("[]" when absent), links.json for `ip -j link show`; `tc monitor` prints what
// monitor(line) appends. Put `dir` first in PATH for `ip`.

import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TC = `#!/bin/bash
dir="$(dirname "$0")"
echo "tc $*" >> "$dir/calls.log"
case "$*" in
  "-j qdisc show") cat "$dir/qdiscs.json" 2>/dev/null || echo '[]' ;;
  "-s -j -batch -")
    while read -r _filter _show _dev dev hook; do
      if [ -f "$dir/dump-$dev-$hook.json" ]; then cat "$dir/dump-$dev-$hook.json"; else echo '[]'; fi
    done ;;
  "-batch -") cat >> "$dir/writes.log" ;;
  # tc monitor: the lines a test appends to monitor.log, until the agent (the parent) exits.
  monitor) exec tail -n +1 -F "$dir/monitor.log" --pid="$PPID" 2>/dev/null ;;
  *) echo '[]' ;;
esac
`;

const IP = `#!/bin/bash
dir="$(dirname "$0")"
echo "ip $*" >> "$dir/calls.log"
cat "$dir/links.json"
`;

export class StandInTools {
  readonly dir = mkdtempSync(join(tmpdir(), 'mnp-tc-standin-'));

  constructor(links: string[]) {
    writeFileSync(join(this.dir, 'tc'), TC);
    writeFileSync(join(this.dir, 'ip'), IP);
    chmodSync(join(this.dir, 'tc'), 0o755);
    chmodSync(join(this.dir, 'ip'), 0o755);
    this.setLinks(links);
    writeFileSync(join(this.dir, 'monitor.log'), '');
  }

  /** A line for `tc monitor` to print (a kernel event, as iproute2 writes it). */
  monitor(line: string): void {
    appendFileSync(join(this.dir, 'monitor.log'), line + '\n');
  }

  get tc(): string {
    return join(this.dir, 'tc');
  }

  /** Environment for the agent process: the stand-in `ip` first in PATH. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${this.dir}:${process.env.PATH ?? ''}` };
  }

  setLinks(names: string[]): void {
    writeFileSync(join(this.dir, 'links.json'), JSON.stringify(names.map((ifname) => ({ ifname }))));
  }

  /** A device that already carries programmed filters (from an earlier run). */
  setProgrammed(device: string, ingressDump: unknown[]): void {
    writeFileSync(join(this.dir, 'qdiscs.json'), JSON.stringify([{ kind: 'clsact', dev: device }]));
    writeFileSync(join(this.dir, `dump-${device}-ingress.json`), JSON.stringify(ingressDump));
  }

  /** Lines written through `tc -batch -` so far. */
  writes(): string[] {
    const f = join(this.dir, 'writes.log');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }

  calls(): string[] {
    const f = join(this.dir, 'calls.log');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
