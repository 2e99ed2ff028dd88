// Structured logs: JSON lines through pino to stderr, with klog-style verbosity. Level 0 (errors,
// warnings, state changes) is always shown; `-v N` shows info lines up to N (2: each reconcile,
// 4: object changes and tc batches). Each line carries its verbosity as `v`.

import { pino, type Logger } from 'pino';

let verbosity = 0;
let logger: Logger | undefined;

/** Extra structured fields of a line (object names, devices, durations). */
export type LogFields = Record<string, unknown>;

function out(): Logger {
  // Synchronous writes: a line logged just before process.exit must not be lost.
  logger ??= pino(
    {
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
  return logger;
}

export function setVerbosity(v: number): void {
  verbosity = v;
}

export function getVerbosity(): number {
  return verbosity;
}

export const log = {
  info(msg: string, level = 0, fields?: LogFields): void {
    if (level <= verbosity) out().info({ v: level, ...fields }, msg);
  },
  warn(msg: string, fields?: LogFields): void {
    out().warn({ ...fields }, msg);
  },
  error(msg: string, fields?: LogFields): void {
    out().error({ ...fields }, msg);
  },
};

/** One line for an error: its message, never a response's headers or body dump. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.message;
  return String(e).split('\n')[0] ?? '';
}
