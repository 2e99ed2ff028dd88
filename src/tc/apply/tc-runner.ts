// The only code that runs `tc` and `ip` to read or write rules: the reconciler's reads
// (kernelReader) and writes, the agent's and the tests' alike, start their processes here. The
// one other place that starts a process is src/util/line-monitor.ts, for the two long-running
// listeners (`tc monitor` in rule-monitor.ts, `ip monitor link` in src/node/link-monitor.ts, which
// sits below tc in the layering); they never change a rule. Writes go through one `tc -batch -`
// per call; reads use JSON output. Every process has a timeout (a hung tc must not hang the agent) and can be abandoned
// through an AbortSignal (the agent stopping on SIGTERM).

import { execa } from 'execa';
import type { Writable } from 'node:stream';
import { DEFAULT_TC_TIMEOUT_MS } from './tc-timeout.js';

export interface BatchFailure {
  /** 1-based line of the batch that failed (0 when unknown: the process timed out or never ran). */
  line: number;
  text: string;
  message: string;
}

export interface TcRunner {
  /** Run lines as one batch; stops at the first failing line (earlier lines stay applied). */
  batch(lines: string[]): Promise<BatchFailure | undefined>;
  /**
   * The same batch, with its process started before its lines are known: the caller plans while
   * tc starts (a process start costs about 100 ms in the TCG lab). Optional: a runner without it
   * gets `batch`.
   */
  openBatch?(): OpenBatch;
  /** `tc -j <args>` parsed; `[]` when tc prints nothing. */
  json(args: string[]): Promise<unknown[]>;
  /** `tc -s -j -batch -` with read-only lines: the raw output (one JSON document per line). */
  readBatch(lines: string[]): Promise<string>;
  /** `ip -j <args>` parsed; `[]` when ip prints nothing. */
  ipJson(args: string[]): Promise<unknown[]>;
  /** Number of write lines sent so far (for benchmarks and the zero-write restart check). */
  readonly writes: number;
}

/** A `tc -batch -` process that was started before its lines were known. */
export interface OpenBatch {
  /** Sends lines; tc runs them as they come. */
  write(lines: readonly string[]): void;
  /** Ends the input; the outcome of every line written, as `batch` gives it. */
  close(): Promise<BatchFailure | undefined>;
  /** Lines written so far. */
  readonly lines: number;
}

/** How to start a program: the tc binary, optionally inside a network namespace (labs, tests). */
export interface Command {
  file: string;
  args: string[];
}

export function command(binary: string, netns?: string): Command {
  return netns ? { file: 'ip', args: ['netns', 'exec', netns, binary] } : { file: binary, args: [] };
}

export { DEFAULT_TC_TIMEOUT_MS } from './tc-timeout.js';

export interface RunnerOptions {
  /** Limit per process, in ms (default DEFAULT_TC_TIMEOUT_MS; the agent passes --tc-timeout). */
  timeoutMs?: number;
  /** When aborted, the running process is killed and the call fails with reason "aborted". */
  signal?: AbortSignal;
}

export type ExternalFailure = 'timeout' | 'not-found' | 'aborted' | 'exit' | 'output';

/** A tc or ip call that did not give a usable answer; the message names the command. */
export class ExternalCallError extends Error {
  constructor(
    readonly reason: ExternalFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ExternalCallError';
  }
}

interface Outcome {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Why the process gave no usable answer, when it did not run to its end. */
  problem?: ExternalCallError;
}

export class ExecaTcRunner implements TcRunner {
  writes = 0;
  readonly tc: Command;
  readonly ip: Command;
  readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(binary = 'tc', netns?: string, options: RunnerOptions = {}) {
    this.tc = command(binary, netns);
    this.ip = command('ip', netns);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TC_TIMEOUT_MS;
    this.signal = options.signal;
  }

  /** Starts one process with the timeout and the abort signal. */
  private start(cmd: Command, args: string[], input?: string) {
    return execa(cmd.file, [...cmd.args, ...args], {
      ...(input === undefined ? { stdin: 'pipe' as const } : { input }),
      reject: false,
      timeout: this.timeoutMs,
      forceKillAfterDelay: 2000,
      ...(this.signal ? { cancelSignal: this.signal } : {}),
    });
  }

  /** Runs one process with the timeout and the abort signal; never throws. */
  private async run(cmd: Command, args: string[], shown: string, input?: string): Promise<Outcome> {
    if (this.signal?.aborted) {
      return { ok: false, stdout: '', stderr: '', problem: aborted(shown) };
    }
    return this.outcome(cmd, shown, await this.start(cmd, args, input));
  }

  /** What a finished process gave; never throws. */
  private outcome(cmd: Command, shown: string, r: Awaited<ReturnType<ExecaTcRunner['start']>>): Outcome {
    const stdout = typeof r.stdout === 'string' ? r.stdout : '';
    const stderr = typeof r.stderr === 'string' ? r.stderr : '';
    if (r.timedOut) {
      const problem = new ExternalCallError(
        'timeout',
        `${shown}: timed out after ${this.timeoutMs} ms (killed; see --tc-timeout)`,
      );
      return { ok: false, stdout, stderr, problem };
    }
    if (r.isCanceled) return { ok: false, stdout, stderr, problem: aborted(shown) };
    if ((r as { code?: string }).code === 'ENOENT') {
      const problem = new ExternalCallError('not-found', `${shown}: ${cmd.file} not found`);
      return { ok: false, stdout, stderr, problem };
    }
    if (r.exitCode === undefined) {
      const why = r.signal ? `killed by ${r.signal}` : (r.shortMessage ?? 'did not run');
      return { ok: false, stdout, stderr, problem: new ExternalCallError('exit', `${shown}: ${why}`) };
    }
    return { ok: r.exitCode === 0, stdout, stderr };
  }

  async batch(lines: string[]): Promise<BatchFailure | undefined> {
    if (lines.length === 0) return undefined;
    // The same process as openBatch, its lines sent in chunks.
    const b = this.openBatch();
    b.write(lines);
    return b.close();
  }

  openBatch(): OpenBatch {
    // The lines of each write, kept for the failing line's text (flattened only then).
    const written: (readonly string[])[] = [];
    let count = 0;
    const shown = 'tc -batch';
    const fail = (o: Outcome): BatchFailure | undefined =>
      o.problem
        ? { line: 0, text: '', message: o.problem.message }
        : o.ok
          ? undefined
          : parseBatchFailure(written.flat(), `${o.stderr}\n${o.stdout}`);
    if (this.signal?.aborted) {
      const problem = aborted(shown);
      return {
        write: (lines) => {
          written.push(lines);
          count += lines.length;
        },
        close: async () => fail({ ok: false, stdout: '', stderr: '', problem }),
        get lines() {
          return count;
        },
      };
    }
    const child = this.start(this.tc, ['-batch', '-']);
    // tc exits at the first failing line; lines sent after that meet a closed pipe.
    child.stdin?.on('error', () => {});
    // Lines go to tc a chunk at a time, as fast as it reads them: a batch of 70,000 lines is
    // never one string (and one buffer of the same size) in memory.
    let sending = Promise.resolve();
    return {
      write: (lines) => {
        if (lines.length === 0) return;
        written.push(lines);
        count += lines.length;
        this.writes += lines.length;
        const stdin = child.stdin;
        if (stdin) sending = sending.then(() => sendLines(stdin, lines));
      },
      close: async () => {
        await sending;
        child.stdin?.end();
        return fail(this.outcome(this.tc, shown, await child));
      },
      get lines() {
        return count;
      },
    };
  }

  async json(args: string[]): Promise<unknown[]> {
    const shown = `tc -j ${args.join(' ')}`;
    return parseJsonOutput(await this.output(this.tc, ['-j', ...args], shown), shown);
  }

  async readBatch(lines: string[]): Promise<string> {
    if (lines.length === 0) return '';
    return this.output(this.tc, ['-s', '-j', '-batch', '-'], 'tc -s -j -batch', lines.join('\n') + '\n');
  }

  async ipJson(args: string[]): Promise<unknown[]> {
    const shown = `ip -j ${args.join(' ')}`;
    return parseJsonOutput(await this.output(this.ip, ['-j', ...args], shown), shown);
  }

  /** stdout of a process that must succeed. */
  private async output(cmd: Command, args: string[], shown: string, input?: string): Promise<string> {
    const r = await this.run(cmd, args, shown, input);
    if (r.problem) throw r.problem;
    if (!r.ok) throw new ExternalCallError('exit', `${shown}: ${r.stderr.trim() || 'failed'}`);
    return r.stdout;
  }
}

/** Lines per write to tc's stdin (~100 bytes each). */
const CHUNK_LINES = 1000;

/** Sends lines in chunks, waiting while the pipe is full; stops when tc has closed its input. */
async function sendLines(stdin: Writable, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += CHUNK_LINES) {
    if (stdin.destroyed || stdin.writableEnded) return;
    if (stdin.write(lines.slice(i, i + CHUNK_LINES).join('\n') + '\n')) continue;
    await new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      stdin.on('drain', done).on('close', done).on('error', done);
    });
  }
}

function aborted(shown: string): ExternalCallError {
  return new ExternalCallError('aborted', `${shown}: abandoned (the agent is stopping)`);
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
export function parseJsonOutput(out: string, shown = 'tc -j'): unknown[] {
  const s = out.trim();
  if (!s) return [];
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    throw new ExternalCallError('output', `${shown}: unreadable JSON output: ${(e as Error).message}`);
  }
  return Array.isArray(v) ? v : [v];
}
