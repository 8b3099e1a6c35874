/**
 * Inputs parsed at intake, handed to this process's own ingest worker so that a report is not parsed a
 * second time from its stored body. Only a process that runs the ingest worker keeps them (`npm start`,
 * or a pipeline that also takes webhooks); any other process keeps nothing and the worker parses the
 * stored body, as it does on a retry or a replay. Bounded by findings held and by age, so inputs whose
 * job another process took cannot pile up. When full, a new input is not kept: jobs are taken oldest
 * first, so the inputs already held are the next ones wanted, and a backlog costs parses, not memory.
 */
export class ParsedInputs<T = unknown> {
  private readonly held = new Map<string, { value: T; findings: number; at: number }>();
  private findings = 0;
  private enabled = false;

  constructor(
    /** At most this many findings held at once (two 5,000-finding reports; a backlog of small inputs). */
    private readonly maxFindings = 10_000,
    /** An input not taken within this long is dropped (its job ran elsewhere, or waits behind others). */
    private readonly maxAgeMs = 30_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Called by the ingest worker of this process: from now on intake keeps what it parsed. */
  enable(): void {
    this.enabled = true;
  }

  /** Keeps what intake parsed for `eventId` (a no-op where no ingest worker runs). */
  put(eventId: string, value: T, findings: number): void {
    if (!this.enabled) return;
    this.drop(eventId);
    // Those not taken in time first: their jobs ran elsewhere.
    const oldest = this.now() - this.maxAgeMs;
    for (const [id, entry] of this.held) {
      if (entry.at >= oldest) break;
      this.drop(id);
    }
    if (this.findings + findings > this.maxFindings) return;
    this.held.set(eventId, { value, findings, at: this.now() });
    this.findings += findings;
  }

  /** What intake parsed for `eventId`, once: a retried job finds nothing and parses the stored body. */
  take(eventId: string): T | undefined {
    const entry = this.held.get(eventId);
    this.drop(eventId);
    return entry && entry.at >= this.now() - this.maxAgeMs ? entry.value : undefined;
  }

  get size(): number {
    return this.held.size;
  }

  get findingsHeld(): number {
    return this.findings;
  }

  private drop(eventId: string): void {
    const entry = this.held.get(eventId);
    if (!entry) return;
    this.held.delete(eventId);
    this.findings -= entry.findings;
  }
}
