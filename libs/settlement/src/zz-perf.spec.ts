import { classifyEvent, prepareClose, SettledEvent } from './membership';
import { StatementBuilder } from './statement';
import { LedgerEvent } from './money-events';
import { accrued, redeemed, terms } from './settlement.fixtures';
const partners = Array.from({ length: 20 }, (_, i) => `p${i}`);
function ev(i: number): LedgerEvent {
  const day = String(1 + (i % 28)).padStart(2, '0');
  const p = partners[i % 20];
  const e = i % 2 === 0
    ? accrued({ partner: p, points: 100 + (i % 50), date: `2026-10-${day}T10:00:00.000Z`, tx: `a${i}`, member: `m${i % 5000}` })
    : redeemed({ redeemer: p, slices: { [partners[(i * 7) % 20]]: 30, [partners[(i * 3) % 20]]: 20 }, date: `2026-10-${day}T11:00:00.000Z`, tx: `r${i}`, member: `m${i % 5000}` });
  return { streamId: `member-m${i % 5000}`, revision: Math.floor(i / 5000), position: 10 + i * 3, type: e.type, data: e.data };
}
it('perf', () => {
  const pt = new Map(partners.map((p) => [p, [terms(100, 0), terms(150, 10, '2026-10-15')]]));
  const n = 200_000;
  const log = Array.from({ length: n }, (_, i) => ev(i));
  for (let rep = 0; rep < 5; rep++) {
    const close = prepareClose({ periodId: '2026-10', cutoffPosition: 10 + n * 3, closedCutoffs: new Map([['2026-09', 5]]) });
    let t0 = process.hrtime.bigint();
    const settled: SettledEvent[] = [];
    for (const e of log) { const r = classifyEvent(e, close); if (r !== undefined && typeof r !== 'string') settled.push(r); }
    const tc = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    const b = new StatementBuilder({ periodId: '2026-10', currency: 'RUB', pointValueMinor: 10, cutoffPosition: 10 + n * 3 }, pt);
    for (const s of settled) b.add(s);
    const ta = Number(process.hrtime.bigint() - t0) / 1e6;
    t0 = process.hrtime.bigint();
    b.build();
    const tb = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log('classify ns/ev', (tc * 1e6 / n).toFixed(0), 'add ns/ev', (ta * 1e6 / n).toFixed(0), 'build ms', tb.toFixed(1));
  }
});
