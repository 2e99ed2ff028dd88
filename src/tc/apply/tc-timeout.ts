// The default limit of each tc or ip process. A file of its own so that the CLI reads it (for
// --tc-timeout's help) without loading the runner (execa) before it needs it.

/**
 * Default limit for one tc or ip process. The slowest single process measured is the dump of 101
 * devices (23,552 filters) in the emulated (TCG) kernel lab: 4.5-6.3 s; a 1,328-line install batch
 * takes under 1 s there. 60 s leaves ten times that margin. See docs/reliability.md.
 */
export const DEFAULT_TC_TIMEOUT_MS = 60_000;
