import { AS_OF_NOW, AsOf, MemberAsOf, PartnerPositionAsOf, memberAsOf, parseAsOf, partnerPositionAsOf } from '@ledger/audit';
import { AuditIo, EXIT_OK, guarded, openStore, writeOut } from './io';

export interface AsOfOpts {
  asOf?: string;
  json?: boolean;
}

const moment = (raw: string | undefined): AsOf => (raw === undefined ? AS_OF_NOW : parseAsOf(raw, '--as-of'));

const asOfLine = (a: { requested: string; position: number | undefined; recordedAt: string | undefined }) =>
  `as of ${a.requested}: log position ${a.position ?? '-'}${a.recordedAt ? `, recorded ${a.recordedAt}` : ''}`;

/** `ledger balance <memberId> [--as-of]`: the member's balance from its events, at a position or recorded time. */
export function runBalance(memberId: string, opts: AsOfOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    const store = openStore(io.env);
    try {
      const m: MemberAsOf = await memberAsOf(store, memberId, moment(opts.asOf));
      if (opts.json) {
        await writeOut(io.stdout, JSON.stringify(m, null, 2) + '\n');
        return EXIT_OK;
      }
      const lines = [
        `member ${m.memberId} (card ${m.cardNumber}), ${asOfLine(m.asOf)}`,
        `  available ${m.available}, held ${m.held}; lifetime accrued ${m.lifetimeAccrued}, redeemed ${m.lifetimeRedeemed}, expired ${m.lifetimeExpired}`,
        ...m.lots.map((l) => `  lot ${l.lotId}: ${l.points} pts of ${l.issuerPartnerId}, expires ${l.expiresAt}`),
      ];
      await writeOut(io.stdout, lines.join('\n') + '\n');
      return EXIT_OK;
    } finally {
      await store.close();
    }
  });
}

/** `ledger position <partnerId> [--as-of]`: the partner's book, folded from the whole log up to the moment. */
export function runPosition(partnerId: string, opts: AsOfOpts, io: AuditIo): Promise<number> {
  return guarded(io, async () => {
    const store = openStore(io.env);
    try {
      const p: PartnerPositionAsOf = await partnerPositionAsOf(store, partnerId, moment(opts.asOf));
      if (opts.json) {
        await writeOut(io.stdout, JSON.stringify(p, null, 2) + '\n');
        return EXIT_OK;
      }
      const lines = [
        `partner ${p.partnerId}, ${asOfLine(p.asOf)}`,
        `  issued ${p.pointsIssued}, redeemed here ${p.pointsRedeemedAt} (of others' ${p.pointsRedeemedFromOthers}), its points redeemed elsewhere ${p.pointsRedeemedElsewhere}`,
        `  expired ${p.pointsExpired}, reversed ${p.pointsReversed}, outstanding ${p.pointsOutstanding} = liability ${p.liabilityMinor} ${p.currency ?? ''} minor units`,
      ];
      await writeOut(io.stdout, lines.join('\n') + '\n');
      return EXIT_OK;
    } finally {
      await store.close();
    }
  });
}
