// Leveled logging to stderr, klog-style verbosity: level 0 is always shown, -v N shows up to N.

let verbosity = 0;

export function setVerbosity(v: number): void {
  verbosity = v;
}

export function getVerbosity(): number {
  return verbosity;
}

function stamp(): string {
  return new Date().toISOString();
}

export const log = {
  info(msg: string, level = 0): void {
    if (level <= verbosity) process.stderr.write(`${stamp()} I ${msg}\n`);
  },
  warn(msg: string): void {
    process.stderr.write(`${stamp()} W ${msg}\n`);
  },
  error(msg: string): void {
    process.stderr.write(`${stamp()} E ${msg}\n`);
  },
};
