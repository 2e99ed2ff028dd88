// Problems are logged (and posted as Events) once while they last, not on every pass. The set of
// reported texts is the last complete pass's problems: a problem that goes away is forgotten, so
// that it is reported again if it comes back, and the set never grows past the current problems.

export class ReportOnce {
  private readonly current = new Set<string>();

  /** `reported`: the texts reported and still current, kept by the caller from pass to pass. */
  constructor(private readonly reported: Set<string>) {}

  /** Notes `text` as a current problem; true when it was not reported yet (report it now). */
  first(text: string): boolean {
    this.current.add(text);
    if (this.reported.has(text)) return false;
    this.reported.add(text);
    return true;
  }

  /**
   * The pass has noted every current problem: forget the others. Only a pass that saw the whole
   * list calls this (an abandoned pass keeps the set as it was).
   */
  complete(): void {
    for (const text of this.reported) if (!this.current.has(text)) this.reported.delete(text);
  }
}
