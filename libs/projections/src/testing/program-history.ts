import { DirectLedger } from './direct-ledger';

/**
 * A small history whose programme KPIs are worked out by hand (in the specs that use it).
 * Partners grocer, cafe and air (1 point per 100 minor units); lots live 24 months.
 *
 * Window W = [2026-10-01, 2026-11-01) (31 days); the window before it P = [2026-08-31, 2026-10-01).
 *
 *   enrolments: ann 08-31 by grocer (P), bob 09-15 by cafe (P), cat 10-02 by grocer, dan 10-05 by
 *               grocer, eve 10-10 by no partner, fay 10-31 22:00 by air (all W), gus 11-01 00:00 by air (after W)
 *   P: ann earns 1000 at grocer (g1, 09-01); bob earns 200 at cafe (c1, 09-20);
 *      ann redeems 100 at cafe (c2, 09-25: taken from g1, a grocer lot)
 *   W: ann earns 500 at grocer (g2, 10-03); cat earns 300 at grocer (g3, 10-04);
 *      dan earns 100 at cafe (c3, 10-06) and 100 at grocer (g4, 10-07), refunded by grocer (g5, 10-08);
 *      eve earns 50 at air (a1, 10-12); cat redeems 100 at air (a3, 10-20: from g3, a grocer lot);
 *      fay earns 50 at air (a2, 10-31 23:59:59.999, the window's last instant)
 *   after W: bob earns 70 at cafe (c4, 11-01 00:00)
 *   expiries recorded (ExpireDueLots): ann's due lots by 2028-09-02, g1's 900 left (2028-09-01); cat's by 2028-10-05,
 *   g3's 200 left (2028-10-04); nobody else's, so c1 (cafe, 2028-09-20) has not lapsed in the log yet
 */
export async function appendProgramHistory(ledger: DirectLedger): Promise<void> {
  const at = (iso: string) => {
    ledger.now = iso;
    return iso;
  };
  at('2026-08-31T09:00:00.000Z');
  await ledger.enrol('ann', 'grocer');
  await ledger.accrue('grocer', 'ann', 100_000, 'g1', at('2026-09-01T10:00:00.000Z'));
  at('2026-09-15T09:00:00.000Z');
  await ledger.enrol('bob', 'cafe');
  await ledger.accrue('cafe', 'bob', 20_000, 'c1', at('2026-09-20T10:00:00.000Z'));
  await ledger.redeem('cafe', 'ann', 100, 'c2', at('2026-09-25T10:00:00.000Z'));
  at('2026-10-02T09:00:00.000Z');
  await ledger.enrol('cat', 'grocer');
  await ledger.accrue('grocer', 'ann', 50_000, 'g2', at('2026-10-03T10:00:00.000Z'));
  await ledger.accrue('grocer', 'cat', 30_000, 'g3', at('2026-10-04T10:00:00.000Z'));
  at('2026-10-05T09:00:00.000Z');
  await ledger.enrol('dan', 'grocer');
  await ledger.accrue('cafe', 'dan', 10_000, 'c3', at('2026-10-06T10:00:00.000Z'));
  await ledger.accrue('grocer', 'dan', 10_000, 'g4', at('2026-10-07T10:00:00.000Z'));
  await ledger.reverse('grocer', 'dan', 'g4', 'g5', at('2026-10-08T10:00:00.000Z'));
  at('2026-10-10T09:00:00.000Z');
  await ledger.enrol('eve', null);
  await ledger.accrue('air', 'eve', 5_000, 'a1', at('2026-10-12T10:00:00.000Z'));
  await ledger.redeem('air', 'cat', 100, 'a3', at('2026-10-20T10:00:00.000Z'));
  at('2026-10-31T22:00:00.000Z');
  await ledger.enrol('fay', 'air');
  await ledger.accrue('air', 'fay', 5_000, 'a2', at('2026-10-31T23:59:59.999Z'));
  at('2026-11-01T00:00:00.000Z');
  await ledger.enrol('gus', 'air');
  await ledger.accrue('cafe', 'bob', 7_000, 'c4', '2026-11-01T00:00:00.000Z');
  // The member decider's expiry (what the expiry job runs): every lot of the member due by then.
  await ledger.expireDue('ann', at('2028-09-02T00:00:00.000Z')); // g1 only: g2 expires 2028-10-03
  await ledger.expireDue('cat', at('2028-10-05T00:00:00.000Z')); // g3
}
