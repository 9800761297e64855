import { AssertionFailed, PartnerTerms, assert } from '@ledger/domain';
import { isCanonicalUtcIso } from './period';

/**
 * Partners' terms histories, indexed for lookups by business date. Same answer as the
 * domain's `termsAt` (the latest version effective on or before the date, else the first),
 * but each `effectiveFrom` is parsed once, and a canonical business date is compared as a
 * string, because a period close looks terms up once per accrual and expiry (millions).
 */
export class TermsBook {
  private readonly book = new Map<string, { versions: readonly PartnerTerms[]; fromMs: number[]; fromIso: string[] | null }>();

  constructor(histories: ReadonlyMap<string, readonly PartnerTerms[]>) {
    for (const [partnerId, versions] of histories) {
      assert(versions.length > 0, `partner ${partnerId} has terms`);
      const fromMs = versions.map((v) => Date.parse(v.effectiveFrom));
      for (let i = 0; i < versions.length; i++) {
        assert(!Number.isNaN(fromMs[i]), `partner ${partnerId}: effectiveFrom is a date`);
        // The partner state keeps versions in effective order; a lookup relies on it.
        assert(i === 0 || fromMs[i - 1] <= fromMs[i], `partner ${partnerId}: terms ordered by effectiveFrom`);
        const { issuanceFeeBps, breakageShareBps } = versions[i];
        assert(Number.isSafeInteger(issuanceFeeBps) && issuanceFeeBps >= 0 && issuanceFeeBps <= 10_000, 'fee bps in range');
        assert(Number.isSafeInteger(breakageShareBps) && breakageShareBps >= 0 && breakageShareBps <= 10_000, 'share bps in range');
      }
      const fromIso = fromMs.map((ms) => new Date(ms).toISOString());
      // String order is time order only between canonical strings (years 0000-9999).
      this.book.set(partnerId, {
        versions,
        fromMs,
        fromIso: fromIso.every((iso) => /^[0-9]{4}-/.test(iso) && iso.endsWith('Z')) ? fromIso : null,
      });
    }
  }

  /** Index of the version in force at `occurredAt` within the partner's history. */
  versionIndexAt(partnerId: string, occurredAt: string): number {
    const entry = this.book.get(partnerId);
    // Tested before the message is built: this runs once per accrual.
    if (entry === undefined) throw new AssertionFailed(`terms of partner ${partnerId} are given (every issuer has joined)`);
    // Most partners never change terms: no date to read.
    if (entry.fromMs.length === 1) return 0;
    if (entry.fromIso !== null && isCanonicalUtcIso(occurredAt)) {
      for (let i = entry.fromIso.length - 1; i > 0; i--) {
        if (entry.fromIso[i] <= occurredAt) return i;
      }
      return 0;
    }
    const t = Date.parse(occurredAt);
    assert(!Number.isNaN(t), 'stored business dates are valid instants');
    for (let i = entry.fromMs.length - 1; i > 0; i--) {
      if (entry.fromMs[i] <= t) return i;
    }
    return 0;
  }

  version(partnerId: string, index: number): PartnerTerms {
    const entry = this.book.get(partnerId);
    assert(entry !== undefined && index >= 0 && index < entry.versions.length, 'version index from versionIndexAt');
    return entry.versions[index];
  }
}
