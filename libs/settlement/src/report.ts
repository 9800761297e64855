import { assert } from '@ledger/domain';
import { byCodeUnit } from './sorted-tables';
import { MatrixLine, SettlementStatement } from './statement.types';

// ---------------------------------------------------------------------------------------
// CSV (RFC 4180): CRLF after every record, header first, a field quoted only when it holds
// a comma, a quote or a line break (quotes doubled). Amounts stay integers in minor units,
// so a spreadsheet never rounds them; periodId and currency on every row keep a file
// self-describing once detached from the statement.

type Cell = string | number;

function csvField(value: Cell): string {
  if (typeof value === 'number') {
    assert(Number.isSafeInteger(value), 'CSV numbers are integers');
    return String(value);
  }
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  for (const row of rows) assert(row.length === header.length, 'every row has a field per column');
  return [header, ...rows].map((row) => row.map(csvField).join(',') + '\r\n').join('');
}

export interface StatementCsv {
  matrix: string;
  netPositions: string;
  transfers: string;
}

export function statementCsv(s: SettlementStatement): StatementCsv {
  const head = [s.periodId, s.currency] as const;
  return {
    matrix: toCsv(
      [
        'periodId',
        'currency',
        'issuerPartnerId',
        'redeemerPartnerId',
        'points',
        'amountMinor',
        'redeemedPoints',
        'redeemedAmountMinor',
        'reversedPoints',
        'reversedAmountMinor',
      ],
      s.matrix.map((l) => [
        ...head,
        l.issuerPartnerId,
        l.redeemerPartnerId,
        l.points,
        l.amountMinor,
        l.redeemedPoints,
        l.redeemedAmountMinor,
        l.reversedPoints,
        l.reversedAmountMinor,
      ]),
    ),
    netPositions: toCsv(
      [
        'periodId',
        'currency',
        'partnerId',
        'receivableMinor',
        'payableMinor',
        'netMinor',
        'issuanceFeeMinor',
        'breakageShareMinor',
        'settlementMinor',
      ],
      s.netPositions.map((p) => [
        ...head,
        p.partnerId,
        p.receivableMinor,
        p.payableMinor,
        p.netMinor,
        p.issuanceFeeMinor,
        p.breakageShareMinor,
        p.settlementMinor,
      ]),
    ),
    transfers: toCsv(
      ['periodId', 'currency', 'partnerId', 'direction', 'amountMinor'],
      s.transfers.map((t) => [...head, t.partnerId, t.direction, t.amountMinor]),
    ),
  };
}

// ---------------------------------------------------------------------------------------
// Plain text for the terminal.

/** Digits after the decimal point of a currency (ISO 4217): 2 unless ICU says otherwise. */
export function currencyExponent(currency: string): number {
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    return digits ?? 2;
  } catch (err) {
    // An unknown code (Intl refuses it) still gets the common exponent.
    if (err instanceof RangeError) return 2;
    throw err;
  }
}

/** Minor units as a major-unit decimal, e.g. 123456 RUB → "1 234.56". Exact: string arithmetic. */
export function formatMinor(amountMinor: number, exponent: number): string {
  assert(Number.isSafeInteger(amountMinor), 'amounts are integers');
  const sign = amountMinor < 0 ? '-' : '';
  const digits = String(Math.abs(amountMinor)).padStart(exponent + 1, '0');
  const major = digits.slice(0, digits.length - exponent);
  const minor = digits.slice(digits.length - exponent);
  const grouped = major.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return sign + grouped + (exponent > 0 ? `.${minor}` : '');
}

const formatPoints = (points: number): string => formatMinor(points, 0);

/** Columns two spaces apart; by default the first is text (left-aligned), the rest numbers (right). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('left' | 'right')[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const alignOf = (i: number) => align?.[i] ?? (i === 0 ? 'left' : 'right');
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (alignOf(i) === 'left' ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Partners × partners grid (rows: issuer, columns: redeemer) with totals. */
function grid(lines: readonly MatrixLine[], value: (l: MatrixLine) => number, format: (n: number) => string): string {
  const partners = [...new Set(lines.flatMap((l) => [l.issuerPartnerId, l.redeemerPartnerId]))].sort(byCodeUnit);
  const at = new Map(lines.map((l) => [`${l.issuerPartnerId}\u0000${l.redeemerPartnerId}`, value(l)]));
  const colTotals = partners.map(() => 0);
  const rows = partners.map((issuer) => {
    let rowTotal = 0;
    const cells = partners.map((redeemer, j) => {
      const v = at.get(`${issuer}\u0000${redeemer}`);
      if (v === undefined) return '.';
      rowTotal += v;
      colTotals[j] += v;
      return format(v);
    });
    return [issuer, ...cells, format(rowTotal)];
  });
  const total = colTotals.reduce((a, b) => a + b, 0);
  rows.push(['total', ...colTotals.map(format), format(total)]);
  return textTable(['issuer \\ redeemer', ...partners, 'total'], rows);
}

/** The statement for a terminal: header, matrix in points and money, fees, breakage, nets, transfers. */
export function renderStatementText(s: SettlementStatement): string {
  const exp = currencyExponent(s.currency);
  const money = (n: number) => formatMinor(n, exp);
  const out: string[] = [];
  out.push(`Settlement statement ${s.periodId} (${s.periodStartsAt} to ${s.periodEndsAt}), currency ${s.currency}`);
  out.push(
    `cut-off position ${s.cutoffPosition}; ${s.eventCount} events (${s.regularEventCount} regular, ${s.lateEventCount} late); ` +
      `point value ${s.pointValueMinor} minor units`,
  );
  out.push(`sha256 ${s.sha256}`);
  if (s.matrix.length === 0) {
    out.push('', 'No redemptions in this period.');
  } else {
    out.push(
      '',
      'Liability matrix, points (issuer owes redeemer; diagonal: self-redemptions)',
      grid(s.matrix, (l) => l.points, formatPoints),
    );
    out.push(
      '',
      `Liability matrix, ${s.currency}`,
      grid(s.matrix, (l) => l.amountMinor, money),
    );
  }
  if (s.issuanceFees.length > 0 || s.breakage.length > 0) {
    const partners = [...new Set([...s.issuanceFees.map((f) => f.partnerId), ...s.breakage.map((b) => b.issuerPartnerId)])].sort(
      byCodeUnit,
    );
    const fee = new Map(s.issuanceFees.map((f) => [f.partnerId, f]));
    const brk = new Map(s.breakage.map((b) => [b.issuerPartnerId, b]));
    out.push(
      '',
      `Issuance fees and breakage, ${s.currency}`,
      textTable(
        ['partner', 'issued points', 'issued value', 'issuance fee', 'expired points', 'breakage', 'operator share'],
        partners.map((p) => [
          p,
          formatPoints(fee.get(p)?.issuedPoints ?? 0),
          money(fee.get(p)?.issuedValueMinor ?? 0),
          money(fee.get(p)?.amountMinor ?? 0),
          formatPoints(brk.get(p)?.points ?? 0),
          money(brk.get(p)?.amountMinor ?? 0),
          money(brk.get(p)?.operatorShareMinor ?? 0),
        ]),
      ),
    );
  }
  out.push(
    '',
    `Net positions, ${s.currency} (net = receivable - payable, sums to zero; settlement = net - fee - breakage share)`,
    textTable(
      ['partner', 'receivable', 'payable', 'net', 'issuance fee', 'breakage share', 'settlement'],
      s.netPositions.map((p) => [
        p.partnerId,
        money(p.receivableMinor),
        money(p.payableMinor),
        money(p.netMinor),
        money(p.issuanceFeeMinor),
        money(p.breakageShareMinor),
        money(p.settlementMinor),
      ]),
    ),
  );
  out.push(
    '',
    `Transfers through the clearing account, ${s.currency}`,
    s.transfers.length === 0
      ? 'None.'
      : textTable(
          ['partner', 'pays', 'receives'],
          s.transfers.map((t) => [
            t.partnerId,
            t.direction === 'pay' ? money(t.amountMinor) : '',
            t.direction === 'receive' ? money(t.amountMinor) : '',
          ]),
        ),
  );
  out.push(
    `pay-in ${money(s.totals.clearingPayInMinor)}, pay-out ${money(s.totals.clearingPayOutMinor)}, ` +
      `operator income ${money(s.totals.operatorIncomeMinor)}; rounding residue ${formatMinor(s.roundingResidueBpsOfMinor, 4)} minor units`,
  );
  if (s.lateAdjustments.length > 0) {
    out.push(
      '',
      'Adjustments to earlier periods (included above)',
      textTable(
        ['event', 'business date', 'reason', 'points', s.currency],
        s.lateAdjustments.map((a) => [
          `${a.eventType} ${a.txId ?? a.lotId ?? `${a.streamId}@${a.revision}`}`,
          a.occurredAt,
          a.reason,
          formatPoints(a.effects.reduce((sum, e) => sum + e.points, 0)),
          money(a.effects.reduce((sum, e) => sum + e.amountMinor, 0)),
        ]),
        ['left', 'left', 'left', 'right', 'right'],
      ),
    );
  }
  return out.join('\n') + '\n';
}
