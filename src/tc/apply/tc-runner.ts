// The only code that runs `tc`. Writes go through one `tc -batch -` per call; reads use JSON output.

import { execa } from 'execa';

export interface BatchFailure {
  /** 1-based line of the batch that failed. */
  line: number;
  text: string;
  message: string;
}

export interface TcRunner {
  /** Run lines as one batch; stops at the first failing line (earlier lines stay applied). */
  batch(lines: string[]): Promise<BatchFailure | undefined>;
  /** `tc -j <args>` parsed; `[]` when tc prints nothing. */
  json(args: string[]): Promise<unknown[]>;
  /** Number of write lines sent so far (for benchmarks and the zero-write restart check). */
  readonly writes: number;
}

/** How to start a program: the tc binary, optionally inside a network namespace (labs, tests). */
export interface Command {
  file: string;
  args: string[];
}

export function command(binary: string, netns?: string): Command {
  return netns ? { file: 'ip', args: ['netns', 'exec', netns, binary] } : { file: binary, args: [] };
}

export class ExecaTcRunner implements TcRunner {
  writes = 0;
  readonly tc: Command;

  constructor(binary = 'tc', netns?: string) {
    this.tc = command(binary, netns);
  }

  async batch(lines: string[]): Promise<BatchFailure | undefined> {
    if (lines.length === 0) return undefined;
    this.writes += lines.length;
    const r = await execa(this.tc.file, [...this.tc.args, '-batch', '-'], {
      input: lines.join('\n') + '\n',
      reject: false,
    });
    if (r.exitCode === 0) return undefined;
    return parseBatchFailure(lines, `${r.stderr}\n${r.stdout}`);
  }

  async json(args: string[]): Promise<unknown[]> {
    const r = await execa(this.tc.file, [...this.tc.args, '-j', ...args], { reject: false });
    if (r.exitCode !== 0)
      throw new Error(`tc -j ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    return parseJsonOutput(r.stdout);
  }
}

/** tc reports "Command failed -:N"; the lines before it carry the kernel's message. */
export function parseBatchFailure(lines: string[], output: string): BatchFailure {
  const m = /Command failed [^:]*:(\d+)/.exec(output);
  const line = m ? Number(m[1]) : 0;
  const message =
    output
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s && !/^Command failed/.test(s))
      .join('; ') || 'tc failed';
  return { line, text: lines[line - 1] ?? '', message };
}

/** tc -j prints one JSON array per command; an empty dump may print nothing at all. */
export function parseJsonOutput(out: string): unknown[] {
  const s = out.trim();
  if (!s) return [];
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v : [v];
}
