// A command line that cannot be served (exit 2). Apart from explain.ts so that the CLI knows it
// without loading the simulator.

export class UsageError extends Error {}
