/**
 * Draws ranks 0 … n-1 with P(rank k) ∝ 1 / (k+1)^s: a few members take most of the traffic
 * and a long tail takes the rest, as in a real coalition's tills.
 */
export class ZipfSampler {
  private readonly cumulative: Float64Array;

  constructor(
    n: number,
    s: number,
    private readonly random: () => number,
  ) {
    this.cumulative = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) this.cumulative[k] = sum += 1 / Math.pow(k + 1, s);
    for (let k = 0; k < n; k++) this.cumulative[k] /= sum;
  }

  next(): number {
    const u = this.random();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    // The first rank whose cumulative share reaches u.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
