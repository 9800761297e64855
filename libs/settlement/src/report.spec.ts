import { currencyExponent, formatMinor, renderStatementText, statementCsv, textTable, toCsv } from './report';
import { statementForPartner } from './partner-view';
import { CURRENCY, accrued, redeemed, settledAll, terms } from './settlement.fixtures';
import { calculateStatement } from './statement';

const statement = calculateStatement({
  periodId: '2026-10',
  currency: CURRENCY,
  pointValueMinor: 10,
  cutoffPosition: 77,
  partnerTerms: new Map([
    ['A', [terms(100, 0)]],
    ['B', [terms(50, 0)]],
  ]),
  events: settledAll([
    accrued({ partner: 'A', points: 1234, date: '2026-10-01', tx: 'a1' }),
    redeemed({ redeemer: 'B', slices: { A: 500 }, date: '2026-10-02', tx: 'r1' }),
    redeemed({ redeemer: 'A', slices: { A: 20 }, date: '2026-10-03', tx: 'r2' }),
  ]),
});

describe('CSV (RFC 4180)', () => {
  it('renders the matrix, net positions and transfers with a header row and CRLF', () => {
    const csv = statementCsv(statement);
    expect(csv.matrix).toBe(
      'periodId,currency,issuerPartnerId,redeemerPartnerId,points,amountMinor,redeemedPoints,redeemedAmountMinor,reversedPoints,reversedAmountMinor\r\n' +
        '2026-10,RUB,A,A,20,200,20,200,0,0\r\n' +
        '2026-10,RUB,A,B,500,5000,500,5000,0,0\r\n',
    );
    // A: pays B 5 000 and a 1 % fee on 12 340 (123.4 → 123).
    expect(csv.netPositions).toBe(
      'periodId,currency,partnerId,receivableMinor,payableMinor,netMinor,issuanceFeeMinor,breakageShareMinor,settlementMinor\r\n' +
        '2026-10,RUB,A,0,5000,-5000,123,0,-5123\r\n' +
        '2026-10,RUB,B,5000,0,5000,0,0,5000\r\n',
    );
    expect(csv.transfers).toBe(
      'periodId,currency,partnerId,direction,amountMinor\r\n2026-10,RUB,A,pay,5123\r\n2026-10,RUB,B,receive,5000\r\n',
    );
  });

  it('quotes fields holding commas, quotes or line breaks, doubling quotes', () => {
    expect(
      toCsv(
        ['id', 'n'],
        [
          ['a,b', 1],
          ['say "hi"', 2],
          ['two\r\nlines', 3],
          ['plain', -4],
        ],
      ),
    ).toBe('id,n\r\n"a,b",1\r\n"say ""hi""",2\r\n"two\r\nlines",3\r\nplain,-4\r\n');
  });

  it('writes just the header for an empty list', () => {
    expect(toCsv(['a', 'b'], [])).toBe('a,b\r\n');
  });
});

describe('terminal rendering', () => {
  it('formats minor units exactly, with the currency exponent', () => {
    expect(currencyExponent('RUB')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(formatMinor(123456789, 2)).toBe('1 234 567.89');
    expect(formatMinor(-5, 2)).toBe('-0.05');
    expect(formatMinor(0, 2)).toBe('0.00');
    expect(formatMinor(1000, 0)).toBe('1 000');
    expect(formatMinor(Number.MAX_SAFE_INTEGER, 2)).toBe('90 071 992 547 409.91');
  });

  it('aligns columns', () => {
    expect(
      textTable(
        ['p', 'n'],
        [
          ['A', '1'],
          ['BB', '100'],
        ],
      ),
    ).toBe('p     n\n--  ---\nA     1\nBB  100');
  });

  it('prints the partners × partners matrix in points and money, nets and transfers', () => {
    const text = renderStatementText(statement);
    expect(text).toContain('Settlement statement 2026-10');
    expect(text).toContain(`sha256 ${statement.sha256}`);
    expect(text).toContain(
      [
        'Liability matrix, points (issuer owes redeemer; diagonal: self-redemptions)',
        'issuer \\ redeemer   A    B  total',
        '-----------------  --  ---  -----',
        'A                  20  500    520',
        'B                   .    .      0',
        'total              20  500    520',
      ].join('\n'),
    );
    expect(text).toContain(['Liability matrix, RUB', 'issuer \\ redeemer     A      B  total'].join('\n'));
    expect(text).toMatch(/^A\s+0\.00\s+50\.00\s+-50\.00\s+1\.23\s+0\.00\s+-51\.23$/m);
    expect(text).toMatch(/^A\s+51\.23\s*$/m);
    expect(text).toMatch(/^B\s+50\.00$/m);
  });
});

describe('a partner view', () => {
  it('holds only the partner own rows, under the full statement hash', () => {
    const view = statementForPartner(statement, 'B');
    expect(view.partnerId).toBe('B');
    expect(view.sha256).toBe(statement.sha256);
    expect(view.matrix.map((l) => [l.issuerPartnerId, l.redeemerPartnerId])).toEqual([['A', 'B']]);
    expect(view.netPositions.map((p) => p.partnerId)).toEqual(['B']);
    expect(view.transfers).toEqual([{ partnerId: 'B', direction: 'receive', amountMinor: 5000 }]);
    expect(view.issuanceFees).toEqual([]);
    expect('totals' in view).toBe(false);
  });
});
