/** setTimeout's ceiling; a later due time just fires early and re-arms. */
const maxTimerMs = 2 ** 31 - 1;

/** One unref'd timer for the earliest due time asked for; firing clears it. */
export class DueTimer {
  private timer: NodeJS.Timeout | undefined;
  private at = Infinity;

  constructor(private readonly fire: () => void) {}

  /** Fires at `at` (ms, same clock as `now`) unless already armed for earlier. */
  arm(at: number, now: number): void {
    if (at >= this.at) return;
    clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(() => {
      this.at = Infinity;
      this.fire();
    }, Math.min(Math.max(0, at - now), maxTimerMs));
    this.timer.unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.at = Infinity;
  }
}
