/** Thrown to a client that tries to send a request after the kill: its cycle is over. */
export class Interrupted extends Error {
  constructor() {
    super('the server was killed');
  }
}

/**
 * One stretch of traffic that ends in a kill -9. The moment is counted in traffic, not in time: the
 * kill lands `jitterMs` after the `killAt`-th request any client starts, so a slow machine only
 * stretches the cycle and the kill still falls among requests in flight.
 */
export class Cycle {
  /** SIGKILL has been sent (answers still arriving count; new requests are not sent). */
  killSent = false;
  steps = 0;
  private waiters: (() => void)[] = [];
  /** Clients running in this cycle (runClient joins and leaves). */
  private active = 0;
  private resolveKilled!: () => void;
  private failKilled!: (err: unknown) => void;
  /** Resolves once the server process is gone. */
  readonly killed: Promise<void>;

  constructor(
    readonly killAt: number,
    readonly jitterMs: number,
    private readonly kill: () => Promise<void>,
  ) {
    this.killed = new Promise((resolve, reject) => {
      this.resolveKilled = resolve;
      this.failKilled = reject;
    });
  }

  /** Every client calls this before each request it sends. */
  step(): void {
    if (this.killSent) throw new Interrupted();
    this.steps += 1;
    this.wake();
    if (this.steps === this.killAt) setTimeout(() => this.killNow(), this.jitterMs);
  }

  /** A stretch of traffic without a kill (the set-up): nothing paces, nothing dies. */
  static calm(): Cycle {
    return new Cycle(Number.POSITIVE_INFINITY, 0, async () => {});
  }

  /** Resolves at the next request any client starts (or at the kill): paces clients that would
   * otherwise flood the server with one cheap request after another. */
  nextStep(): Promise<void> {
    if (this.killSent || this.killAt === Number.POSITIVE_INFINITY) return Promise.resolve();
    const next = new Promise<void>((resolve) => this.waiters.push(resolve));
    // Everyone waiting for someone else would be a deadlock: then nobody waits.
    if (this.waiters.length >= this.active) this.wake();
    return next;
  }

  join(): void {
    this.active += 1;
  }

  leave(): void {
    this.active -= 1;
    if (this.waiters.length >= this.active) this.wake();
  }

  /** "A moment later", measured in traffic rather than time: after a few requests of other clients. */
  async moment(): Promise<void> {
    for (let i = 0; i < 6; i++) await this.nextStep();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Sends the kill now (the hang guard's way out when the traffic stalls). */
  killNow(): void {
    if (this.killSent) return;
    this.killSent = true;
    this.wake();
    this.kill().then(this.resolveKilled, this.failKilled);
  }
}
