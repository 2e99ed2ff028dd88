// Exponential backoff with jitter, as client-go's wait.Backoff: each failure doubles the delay up
// to a cap, and a random part (up to +jitter of the delay) spreads the retries of many agents.

export class Backoff {
  private next: number;

  constructor(
    private readonly initialMs: number,
    private readonly capMs: number,
    private readonly jitter = 0.5,
    private readonly random: () => number = Math.random,
  ) {
    this.next = initialMs;
  }

  /** The delay before the next attempt; the one after is doubled, up to the cap. */
  delay(): number {
    const base = this.next;
    this.next = Math.min(this.next * 2, this.capMs);
    return Math.round(Math.min(base * (1 + this.jitter * this.random()), this.capMs * (1 + this.jitter)));
  }

  reset(): void {
    this.next = this.initialMs;
  }
}
