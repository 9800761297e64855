import { cardNumber } from '@ledger/testing';
import { HostileFixture, HostileRequest, VALID, WRITE_ROUTES, startHostileFixture } from './support/hostile-fixture';

/**
 * Issue 15 §8: hostile input on every POST and PUT route. Each case is one request that
 * must be refused with its documented status, an error body whose `details` name the
 * field, no 5xx, and no event written.
 */
interface HostileCase extends HostileRequest {
  name: string;
  status: number;
  /** The field `details` must name. */
  field: string;
  code?: string;
}

const ACCRUALS = { method: 'POST', url: '/v1/accruals', as: 'grocer' } as const;
const REDEMPTIONS = { method: 'POST', url: '/v1/redemptions', as: 'grocer' } as const;
const REVERSALS = { method: 'POST', url: '/v1/reversals', as: 'grocer' } as const;
const MEMBERS = { method: 'POST', url: '/v1/members', as: 'grocer' } as const;
const PARTNERS = { method: 'POST', url: '/v1/partners', as: 'admin' } as const;
const TERMS = { method: 'PUT', url: '/v1/partners/grocer/terms', as: 'admin' } as const;
const COALITION = { method: 'PUT', url: '/v1/coalition', as: 'admin' } as const;
const STAFF_KEYS = { method: 'POST', url: '/v1/keys', as: 'admin' } as const;
const PARTNER_KEYS = { method: 'POST', url: '/v1/partners/grocer/keys', as: 'admin' } as const;
const SETTLEMENTS = { method: 'POST', url: '/v1/settlements', as: 'finance' } as const;
const HOLDS = { method: 'POST', url: '/v1/holds', as: 'grocer' } as const;
const CAPTURE = { method: 'POST', url: '/v1/holds/grocer:hold-1/capture', as: 'grocer' } as const;
const RELEASE = { method: 'POST', url: '/v1/holds/grocer:hold-2/release', as: 'grocer' } as const;
const PROGRAM = { method: 'PUT', url: '/v1/program', as: 'admin' } as const;
const BLOCK = { method: 'POST', url: `/v1/cards/${cardNumber(1)}/block`, as: 'grocer' } as const;
const REPLACE_CARD = { method: 'POST', url: '/v1/members/m-1/cards', as: 'grocer' } as const;
const SUSPEND = { method: 'POST', url: '/v1/partners/cafe/suspend', as: 'admin' } as const;
const REINSTATE = { method: 'POST', url: '/v1/partners/cafe/reinstate', as: 'admin' } as const;
const SURPRISE = { method: 'POST', url: '/v1/bonuses', as: 'grocer' } as const;
const ACTION = { method: 'POST', url: '/v1/actions', as: 'grocer' } as const;
const MEMBERSHIP = { method: 'POST', url: '/v1/members/m-1/membership', as: 'grocer' } as const;

const BIG = 'x'.repeat(70 * 1024);
const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObjects = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
/** The valid body as JSON text, with `extra` spliced in before the closing brace. */
const withRaw = (body: object, extra: string) => JSON.stringify(body).replace(/}$/, `,${extra}}`);
const CYRILLIC_O = '\u043e';
const CYRILLIC_M = '\u043c';

const PROGRAM_TIERS = VALID.program.tiers;

const CASES: HostileCase[] = [
  // Paid membership (issue 14 §4).
  {
    name: 'membership plan named __proto__',
    ...MEMBERSHIP,
    body: { ...VALID.membership, planId: '__proto__' },
    status: 400,
    field: 'planId',
  },
  { name: 'membership plan id as a number', ...MEMBERSHIP, body: { ...VALID.membership, planId: 7 }, status: 400, field: 'planId' },
  {
    name: 'membership without a business date',
    ...MEMBERSHIP,
    body: { ...VALID.membership, occurredAt: undefined },
    status: 400,
    field: 'occurredAt',
  },
  { name: 'membership with an unknown field', ...MEMBERSHIP, body: { ...VALID.membership, feeMinor: 1 }, status: 400, field: 'feeMinor' },
  // Bonuses (issue 14 §3).
  { name: 'surprise of zero points', ...SURPRISE, body: { ...VALID.surprise, points: 0 }, status: 400, field: 'points' },
  { name: 'surprise of points as a string', ...SURPRISE, body: { ...VALID.surprise, points: '25' }, status: 400, field: 'points' },
  {
    name: 'surprise with a NUL in the reason',
    ...SURPRISE,
    body: { ...VALID.surprise, reason: 'thanks\u0000' },
    status: 400,
    field: 'reason',
  },
  {
    name: 'surprise with a 201-character reason',
    ...SURPRISE,
    body: { ...VALID.surprise, reason: 'x'.repeat(201) },
    status: 400,
    field: 'reason',
  },
  { name: 'action named __proto__', ...ACTION, body: { ...VALID.action, action: '__proto__' }, status: 400, field: 'action' },
  { name: 'action without a business date', ...ACTION, body: { ...VALID.action, occurredAt: undefined }, status: 400, field: 'occurredAt' },
  {
    name: 'member referred by a member that does not exist',
    method: 'POST',
    url: '/v1/members',
    as: 'grocer',
    body: { ...VALID.member, referredBy: 'ghost' },
    status: 400,
    field: 'referredBy',
  },
  // The programme and the fraud controls (issue 14).
  {
    name: 'programme tiers whose qualifying points go down',
    ...PROGRAM,
    body: { ...VALID.program, tiers: [PROGRAM_TIERS[1], PROGRAM_TIERS[0]] },
    status: 400,
    field: 'tiers.1.qualifyingPoints',
  },
  {
    name: 'programme tier multiplier of zero',
    ...PROGRAM,
    body: { ...VALID.program, tiers: [{ ...PROGRAM_TIERS[0], multiplierBps: 0 }] },
    status: 400,
    field: 'tiers.0.multiplierBps',
  },
  {
    name: 'programme bonus sponsored by a partner that never joined',
    ...PROGRAM,
    body: { ...VALID.program, bonuses: { welcome: { points: 50, sponsor: 'nobody' } } },
    status: 400,
    field: 'bonuses.welcome.sponsor',
    code: 'unknown_sponsor',
  },
  { name: 'programme with an unknown field', ...PROGRAM, body: { ...VALID.program, currency: 'RUB' }, status: 400, field: 'currency' },
  {
    name: 'programme limits as strings',
    ...PROGRAM,
    body: { ...VALID.program, limits: { maxAccrualsPerMemberPerHour: '5', maxPointsPerMemberPerDay: 1 } },
    status: 400,
    field: 'limits.maxAccrualsPerMemberPerHour',
  },
  {
    name: '__proto__ as a programme action',
    ...PROGRAM,
    raw: JSON.stringify({ ...VALID.program, bonuses: {} }).replace('"bonuses":{}', '"bonuses":{"actions":{"__proto__":{"points":1}}}'),
    status: 400,
    field: 'bonuses.actions.__proto__',
  },
  {
    name: 'block a card number that fails Luhn',
    ...BLOCK,
    url: '/v1/cards/4000000000000001/block',
    body: VALID.block,
    status: 400,
    field: 'cardNumber',
  },
  { name: 'block with a bidi override in the reason', ...BLOCK, body: { reason: 'stolen\u202e' }, status: 400, field: 'reason' },
  { name: 'block without a reason', ...BLOCK, body: {}, status: 400, field: 'reason' },
  { name: 'replacement card failing Luhn', ...REPLACE_CARD, body: { cardNumber: '4000000000000001' }, status: 400, field: 'cardNumber' },
  { name: 'replacement card as a number', ...REPLACE_CARD, body: { cardNumber: 4000000000000002 }, status: 400, field: 'cardNumber' },
  { name: 'suspension with a reason of 300 characters', ...SUSPEND, body: { reason: 'x'.repeat(300) }, status: 400, field: 'reason' },
  {
    name: 'suspension naming the partner in the body',
    ...SUSPEND,
    body: { ...VALID.suspension, partnerId: 'grocer' },
    status: 400,
    field: 'partnerId',
  },
  { name: 'reinstatement body over 64 KiB', ...REINSTATE, raw: `{"pad":"${BIG}"}`, status: 413, field: 'body' },
  { name: 'reinstatement body 2 000 arrays deep', ...REINSTATE, raw: nestedArrays(2_000), status: 400, field: 'body' },
  // Size and shape of the body.
  { name: 'accrual body over 64 KiB', ...ACCRUALS, body: { ...VALID.accrual, externalId: BIG }, status: 413, field: 'body' },
  { name: 'partner body over 64 KiB', ...PARTNERS, body: { ...VALID.partner, name: BIG }, status: 413, field: 'body' },
  { name: 'coalition body over 64 KiB', ...COALITION, raw: `{"currency":"${BIG}"}`, status: 413, field: 'body' },
  { name: 'partner key request body over 64 KiB', ...PARTNER_KEYS, raw: `{"pad":"${BIG}"}`, status: 413, field: 'body' },
  { name: 'body of 10 000 nested arrays', ...ACCRUALS, raw: nestedArrays(10_000), status: 400, field: 'body' },
  {
    name: 'an extra field nested 50 arrays deep',
    ...ACCRUALS,
    raw: withRaw(VALID.redemption, `"pad":${nestedArrays(50)}`),
    status: 400,
    field: 'body',
  },
  {
    name: 'earnRule nested 30 objects deep',
    ...PARTNERS,
    raw: `{"partnerId":"deep","name":"d","earnRule":${nestedObjects(30)}}`,
    status: 400,
    field: 'body',
  },
  { name: 'settlement body nested 9 objects deep', ...SETTLEMENTS, raw: nestedObjects(9), status: 400, field: 'body' },
  { name: 'partner key request body 2 000 arrays deep', ...PARTNER_KEYS, raw: nestedArrays(2_000), status: 400, field: 'body' },
  // Keys that reach for the prototype.
  {
    name: '__proto__ at the top of an accrual',
    ...ACCRUALS,
    raw: withRaw(VALID.accrual, '"__proto__":{"amountMinor":1}'),
    status: 400,
    field: '__proto__',
  },
  {
    name: '__proto__ inside earnRule',
    ...PARTNERS,
    raw: '{"partnerId":"p1","name":"p","earnRule":{"pointsPerUnit":1,"unitMinor":100,"__proto__":{"isAdmin":true}}}',
    status: 400,
    field: 'earnRule.__proto__',
  },
  {
    name: '__proto__ in a redemption',
    ...REDEMPTIONS,
    raw: withRaw(VALID.redemption, '"__proto__":null'),
    status: 400,
    field: '__proto__',
  },
  {
    name: 'constructor.prototype in an accrual',
    ...ACCRUALS,
    raw: withRaw(VALID.accrual, '"constructor":{"prototype":{"polluted":1}}'),
    status: 400,
    field: 'constructor',
  },
  {
    name: 'constructor in a staff key request',
    ...STAFF_KEYS,
    raw: '{"role":"finance","constructor":{"name":"Object"}}',
    status: 400,
    field: 'constructor',
  },
  { name: 'prototype in an enrolment', ...MEMBERS, raw: withRaw(VALID.member, '"prototype":1'), status: 400, field: 'prototype' },
  { name: '__proto__ in a partner key request', ...PARTNER_KEYS, raw: '{"__proto__":{"role":"admin"}}', status: 400, field: '__proto__' },
  {
    name: 'constructor in the coalition',
    ...COALITION,
    raw: withRaw(VALID.coalition, '"constructor":1'),
    status: 400,
    field: 'constructor',
  },
  // The same key twice: which one did the sender mean?
  { name: 'amountMinor twice', ...ACCRUALS, raw: withRaw(VALID.accrual, '"amountMinor":1'), status: 400, field: 'amountMinor' },
  { name: 'points twice', ...REDEMPTIONS, raw: withRaw(VALID.redemption, '"points":5'), status: 400, field: 'points' },
  { name: 'memberId twice, differently', ...REVERSALS, raw: withRaw(VALID.reversal, '"memberId":"m-2"'), status: 400, field: 'memberId' },
  {
    name: 'earnRule.unitMinor twice',
    ...PARTNERS,
    raw: '{"partnerId":"p2","name":"p","earnRule":{"pointsPerUnit":1,"unitMinor":100,"unitMinor":1}}',
    status: 400,
    field: 'earnRule.unitMinor',
  },
  {
    name: 'currency twice in the coalition',
    ...COALITION,
    raw: withRaw(VALID.coalition, '"currency":"EUR"'),
    status: 400,
    field: 'currency',
  },
  { name: 'periodId twice', ...SETTLEMENTS, raw: '{"periodId":"2026-10","periodId":"2026-09"}', status: 400, field: 'periodId' },
  { name: 'role twice', ...STAFF_KEYS, raw: '{"role":"finance","role":"admin"}', status: 400, field: 'role' },
  // Unicode in ids.
  { name: 'NUL in a memberId', ...MEMBERS, body: { ...VALID.member, memberId: 'm\u00002' }, status: 400, field: 'memberId' },
  { name: 'RTL override in a memberId', ...ACCRUALS, body: { ...VALID.accrual, memberId: 'm-\u202e1' }, status: 400, field: 'memberId' },
  {
    name: 'RTL override in an externalId',
    ...ACCRUALS,
    body: { ...VALID.accrual, externalId: 'h\u202e-1' },
    status: 400,
    field: 'externalId',
  },
  {
    name: 'Cyrillic homoglyph in a memberId',
    ...REDEMPTIONS,
    body: { ...VALID.redemption, memberId: `${CYRILLIC_M}-1` },
    status: 400,
    field: 'memberId',
  },
  {
    name: 'Cyrillic homoglyph in a partnerId',
    ...PARTNERS,
    body: { ...VALID.partner, partnerId: `gr${CYRILLIC_O}cer` },
    status: 400,
    field: 'partnerId',
  },
  {
    name: 'NUL in an externalId',
    ...REDEMPTIONS,
    body: { ...VALID.redemption, externalId: 'h-2\u0000' },
    status: 400,
    field: 'externalId',
  },
  {
    name: 'zero-width space in originalExternalId',
    ...REVERSALS,
    body: { ...VALID.reversal, originalExternalId: 'g\u200b-1' },
    status: 400,
    field: 'originalExternalId',
  },
  { name: 'NUL in a partner name', ...PARTNERS, body: { ...VALID.partner, name: 'New\u0000Co' }, status: 400, field: 'name' },
  { name: 'RTL override in a partner name', ...PARTNERS, body: { ...VALID.partner, name: 'New \u202eoC' }, status: 400, field: 'name' },
  {
    name: 'NUL in a partnerId path segment',
    method: 'POST',
    url: '/v1/partners/gro%00cer/keys',
    as: 'admin',
    status: 400,
    field: 'partnerId',
  },
  {
    name: 'RTL override in a partnerId path segment',
    method: 'PUT',
    url: '/v1/partners/%E2%80%AEgrocer/terms',
    as: 'admin',
    body: VALID.terms,
    status: 400,
    field: 'partnerId',
  },
  {
    name: 'homoglyph partnerId path segment',
    method: 'PUT',
    url: `/v1/partners/${encodeURIComponent(`gr${CYRILLIC_O}cer`)}/terms`,
    as: 'admin',
    body: VALID.terms,
    status: 400,
    field: 'partnerId',
  },
  // Numbers.
  {
    name: 'amountMinor 2^53 + 1',
    ...ACCRUALS,
    raw: JSON.stringify(VALID.accrual).replace('250000', '9007199254740993'),
    status: 400,
    field: 'amountMinor',
  },
  {
    name: 'points 1e300',
    ...REDEMPTIONS,
    raw: JSON.stringify(VALID.redemption).replace('"points":5', '"points":1e300'),
    status: 400,
    field: 'points',
  },
  {
    name: 'pointValueMinor 2^64',
    ...COALITION,
    raw: '{"currency":"RUB","pointValueMinor":18446744073709551616,"expiryMonths":24}',
    status: 400,
    field: 'pointValueMinor',
  },
  {
    name: 'earnRule.unitMinor 2^53',
    ...PARTNERS,
    body: { ...VALID.partner, earnRule: { pointsPerUnit: 1, unitMinor: 2 ** 53 } },
    status: 400,
    field: 'earnRule.unitMinor',
  },
  {
    name: 'issuanceFeeBps 2^53 + 1',
    ...TERMS,
    raw: JSON.stringify(VALID.terms).replace('"issuanceFeeBps":100', '"issuanceFeeBps":9007199254740993'),
    status: 400,
    field: 'issuanceFeeBps',
  },
  {
    name: 'amountMinor 1e400 (infinite)',
    ...ACCRUALS,
    raw: JSON.stringify(VALID.accrual).replace('250000', '1e400'),
    status: 400,
    field: 'amountMinor',
  },
  {
    name: 'amountMinor 12345e-1 (a fraction in exponent form)',
    ...ACCRUALS,
    raw: JSON.stringify(VALID.accrual).replace('250000', '12345e-1'),
    status: 400,
    field: 'amountMinor',
  },
  { name: 'points 10.5', ...REDEMPTIONS, body: { ...VALID.redemption, points: 10.5 }, status: 400, field: 'points' },
  {
    name: 'points 1e-7',
    ...REDEMPTIONS,
    raw: JSON.stringify(VALID.redemption).replace('"points":5', '"points":1e-7'),
    status: 400,
    field: 'points',
  },
  { name: 'expiryMonths 0.5', ...COALITION, body: { ...VALID.coalition, expiryMonths: 0.5 }, status: 400, field: 'expiryMonths' },
  { name: 'breakageShareBps 0.1', ...TERMS, body: { ...VALID.terms, breakageShareBps: 0.1 }, status: 400, field: 'breakageShareBps' },
  {
    name: 'issuanceFeeBps -0',
    ...TERMS,
    raw: JSON.stringify(VALID.terms).replace('"issuanceFeeBps":100', '"issuanceFeeBps":-0'),
    status: 400,
    field: 'issuanceFeeBps',
  },
  { name: 'amountMinor -0', ...ACCRUALS, raw: JSON.stringify(VALID.accrual).replace('250000', '-0'), status: 400, field: 'amountMinor' },
  {
    name: 'breakageShareBps -0.0',
    ...PARTNERS,
    raw: withRaw(VALID.partner, '"breakageShareBps":-0.0'),
    status: 400,
    field: 'breakageShareBps',
  },
  { name: 'negative amountMinor', ...ACCRUALS, body: { ...VALID.accrual, amountMinor: -250_000 }, status: 400, field: 'amountMinor' },
  { name: 'amountMinor as a string', ...ACCRUALS, body: { ...VALID.accrual, amountMinor: '250000' }, status: 400, field: 'amountMinor' },
  { name: 'points as a string', ...REDEMPTIONS, body: { ...VALID.redemption, points: '5' }, status: 400, field: 'points' },
  {
    name: 'pointValueMinor as a string',
    ...COALITION,
    body: { ...VALID.coalition, pointValueMinor: '10' },
    status: 400,
    field: 'pointValueMinor',
  },
  {
    name: 'earnRule.pointsPerUnit as a string',
    ...PARTNERS,
    body: { ...VALID.partner, earnRule: { pointsPerUnit: '1', unitMinor: 100 } },
    status: 400,
    field: 'earnRule.pointsPerUnit',
  },
  { name: 'points as a boolean', ...REDEMPTIONS, body: { ...VALID.redemption, points: true }, status: 400, field: 'points' },
  // Arrays and objects where a scalar belongs.
  { name: 'memberId as an array', ...ACCRUALS, body: { ...VALID.accrual, memberId: ['m-1'] }, status: 400, field: 'memberId' },
  {
    name: 'amountMinor as an object',
    ...ACCRUALS,
    body: { ...VALID.accrual, amountMinor: { value: 250_000 } },
    status: 400,
    field: 'amountMinor',
  },
  { name: 'role as an array', ...STAFF_KEYS, body: { role: ['finance'] }, status: 400, field: 'role' },
  { name: 'periodId as a query operator', ...SETTLEMENTS, body: { periodId: { $gt: '' } }, status: 400, field: 'periodId' },
  {
    name: 'cardNumber as an array of digits',
    ...MEMBERS,
    body: { ...VALID.member, cardNumber: [7, 0, 0] },
    status: 400,
    field: 'cardNumber',
  },
  { name: 'earnRule as an array', ...PARTNERS, body: { ...VALID.partner, earnRule: [1, 100] }, status: 400, field: 'earnRule' },
  { name: 'earnRule as a string', ...PARTNERS, body: { ...VALID.partner, earnRule: '1 per 100' }, status: 400, field: 'earnRule' },
  {
    name: 'effectiveFrom as epoch seconds',
    ...TERMS,
    body: { ...VALID.terms, effectiveFrom: 1_763_600_000 },
    status: 400,
    field: 'effectiveFrom',
  },
  { name: 'body is an array', ...ACCRUALS, body: [VALID.accrual], status: 400, field: 'body' },
  { name: 'body is a string', ...REDEMPTIONS, raw: '"points"', status: 400, field: 'body' },
  { name: 'body is null', ...COALITION, raw: 'null', status: 400, field: 'body' },
  // Dates.
  {
    name: 'occurredAt in year 1',
    ...ACCRUALS,
    body: { ...VALID.accrual, occurredAt: '0001-01-01T00:00:00Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'occurredAt in year 9999',
    ...ACCRUALS,
    body: { ...VALID.accrual, occurredAt: '9999-12-31T23:59:59Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'occurredAt at the Unix epoch',
    ...REDEMPTIONS,
    body: { ...VALID.redemption, occurredAt: '1970-01-01T00:00:00Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'occurredAt in an expanded year',
    ...REVERSALS,
    body: { ...VALID.reversal, occurredAt: '+275760-09-13T00:00:00.000Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'occurredAt on 30 February',
    ...ACCRUALS,
    body: { ...VALID.accrual, occurredAt: '2026-02-30T10:00:00Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'occurredAt without a zone',
    ...ACCRUALS,
    body: { ...VALID.accrual, occurredAt: '2026-11-20T10:00:00' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'occurredAt a day ahead',
    ...REDEMPTIONS,
    body: { ...VALID.redemption, occurredAt: '2026-11-21T12:00:00Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: 'effectiveFrom in year 1',
    ...TERMS,
    body: { ...VALID.terms, effectiveFrom: '0001-01-01T00:00:00Z' },
    status: 400,
    field: 'effectiveFrom',
  },
  {
    name: 'effectiveFrom in year 9999',
    ...TERMS,
    body: { ...VALID.terms, effectiveFrom: '9999-12-31T00:00:00Z' },
    status: 400,
    field: 'effectiveFrom',
  },
  { name: 'birthDate in year 9999', ...MEMBERS, body: { ...VALID.member, birthDate: '9999-12-31' }, status: 400, field: 'birthDate' },
  { name: 'birthDate in year 1', ...MEMBERS, body: { ...VALID.member, birthDate: '0001-01-01' }, status: 400, field: 'birthDate' },
  {
    name: 'birthDate as a date-time',
    ...MEMBERS,
    body: { ...VALID.member, birthDate: '1990-05-01T00:00:00Z' },
    status: 400,
    field: 'birthDate',
  },
  // Content type.
  { name: 'accrual as text/plain', ...ACCRUALS, raw: JSON.stringify(VALID.accrual), contentType: 'text/plain', status: 415, field: 'body' },
  {
    name: 'accrual without a content type',
    ...ACCRUALS,
    raw: JSON.stringify(VALID.accrual),
    contentType: null,
    status: 415,
    field: 'body',
  },
  {
    name: 'partner as a url-encoded form',
    ...PARTNERS,
    raw: 'partnerId=formco&name=Form',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    field: 'body',
  },
  {
    name: 'staff key as a url-encoded form',
    ...STAFF_KEYS,
    raw: 'role=admin',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    field: 'body',
  },
  {
    name: 'coalition as XML',
    ...COALITION,
    raw: '<coalition currency="RUB"/>',
    contentType: 'application/xml',
    status: 415,
    field: 'body',
  },
  {
    name: 'settlement as multipart',
    ...SETTLEMENTS,
    raw: '--x\r\n\r\n2026-10\r\n--x--',
    contentType: 'multipart/form-data; boundary=x',
    status: 415,
    field: 'body',
  },
  // Currency.
  {
    name: 'an accrual in EUR',
    ...ACCRUALS,
    body: { ...VALID.accrual, currency: 'EUR' },
    status: 400,
    field: 'currency',
    code: 'currency_mismatch',
  },
  { name: 'an accrual in lower-case rub', ...ACCRUALS, body: { ...VALID.accrual, currency: 'rub' }, status: 400, field: 'currency' },
  {
    name: 'the coalition re-configured in EUR',
    ...COALITION,
    body: { ...VALID.coalition, currency: 'EUR' },
    status: 409,
    field: 'currency',
    code: 'currency_fixed',
  },
  // SQL and path metacharacters in ids.
  {
    name: 'SQL in a memberId',
    ...MEMBERS,
    body: { ...VALID.member, memberId: "m-2'; DROP TABLE events;--" },
    status: 400,
    field: 'memberId',
  },
  { name: 'SQL quote in an externalId', ...ACCRUALS, body: { ...VALID.accrual, externalId: "h-1'--" }, status: 400, field: 'externalId' },
  {
    name: 'path traversal in originalExternalId',
    ...REVERSALS,
    body: { ...VALID.reversal, originalExternalId: '../../member-m-1' },
    status: 400,
    field: 'originalExternalId',
  },
  { name: 'slash in an externalId', ...REDEMPTIONS, body: { ...VALID.redemption, externalId: 'till/7' }, status: 400, field: 'externalId' },
  {
    name: 'percent-encoding in an externalId',
    ...ACCRUALS,
    body: { ...VALID.accrual, externalId: 'h%2F1' },
    status: 400,
    field: 'externalId',
  },
  {
    name: 'encoded path traversal as a partnerId segment',
    method: 'POST',
    url: '/v1/partners/..%2F..%2Fkeys/keys',
    as: 'admin',
    status: 400,
    field: 'partnerId',
  },
  {
    name: 'SQL quote in a partnerId segment',
    method: 'POST',
    url: "/v1/partners/grocer'--/keys",
    as: 'admin',
    status: 400,
    field: 'partnerId',
  },
  { name: 'SQL in a periodId', ...SETTLEMENTS, body: { periodId: "2026-10' OR '1'='1" }, status: 400, field: 'periodId' },
  { name: 'SQL in a role', ...STAFF_KEYS, body: { role: "admin' OR 1=1" }, status: 400, field: 'role' },
  {
    name: 'stream name as a memberId',
    ...REDEMPTIONS,
    body: { ...VALID.redemption, memberId: 'member-m-1/../partner-grocer' },
    status: 400,
    field: 'memberId',
  },
  // Holds.
  { name: 'hold ttlSeconds as a string', ...HOLDS, body: { ...VALID.hold, ttlSeconds: '600' }, status: 400, field: 'ttlSeconds' },
  {
    name: 'hold ttlSeconds 2^53 + 1',
    ...HOLDS,
    raw: JSON.stringify(VALID.hold).replace('"ttlSeconds":600', '"ttlSeconds":9007199254740993'),
    status: 400,
    field: 'ttlSeconds',
  },
  { name: 'hold points -0', ...HOLDS, raw: JSON.stringify(VALID.hold).replace('"points":1', '"points":-0'), status: 400, field: 'points' },
  {
    name: 'hold occurredAt in year 9999',
    ...HOLDS,
    body: { ...VALID.hold, occurredAt: '9999-01-01T00:00:00Z' },
    status: 400,
    field: 'occurredAt',
  },
  {
    name: '__proto__ in a capture',
    ...CAPTURE,
    raw: withRaw(VALID.capture, '"__proto__":{"points":1000}'),
    status: 400,
    field: '__proto__',
  },
  { name: 'capture points as an array', ...CAPTURE, body: { ...VALID.capture, points: [1] }, status: 400, field: 'points' },
  { name: 'externalId twice in a release', ...RELEASE, raw: '{"externalId":"h-6","externalId":"h-7"}', status: 400, field: 'externalId' },
  { name: 'a release naming its member', ...RELEASE, body: { ...VALID.release, memberId: 'm-1' }, status: 400, field: 'memberId' },
  {
    name: 'SQL quote in a holdId segment',
    method: 'POST',
    url: "/v1/holds/grocer:hold-1'--/capture",
    as: 'grocer',
    body: VALID.capture,
    status: 400,
    field: 'holdId',
  },
  {
    name: 'encoded path traversal in a holdId segment',
    method: 'POST',
    url: '/v1/holds/grocer:..%2F..%2Fmember-m-1/release',
    as: 'grocer',
    body: VALID.release,
    status: 400,
    field: 'holdId',
  },
  {
    name: 'RTL override in a holdId segment',
    method: 'POST',
    url: '/v1/holds/grocer:%E2%80%AEhold-2/release',
    as: 'grocer',
    body: VALID.release,
    status: 400,
    field: 'holdId',
  },
  // Empty and missing.
  { name: 'empty accrual body', ...ACCRUALS, raw: '', status: 400, field: 'body' },
  { name: 'whitespace coalition body', ...COALITION, raw: '  \n ', status: 400, field: 'body' },
  { name: 'empty object for a staff key', ...STAFF_KEYS, body: {}, status: 400, field: 'role' },
  { name: 'empty object for an enrolment', ...MEMBERS, body: {}, status: 400, field: 'cardNumber' },
  { name: 'empty object for a settlement', ...SETTLEMENTS, body: {}, status: 400, field: 'periodId' },
  // Omitting a rate means 0; null is not omission (it used to be recorded, and every later close failed).
  {
    name: 'a partner with a null issuanceFeeBps',
    ...PARTNERS,
    body: { ...VALID.partner, issuanceFeeBps: null },
    status: 400,
    field: 'issuanceFeeBps',
  },
  {
    name: 'a partner with a null breakageShareBps',
    ...PARTNERS,
    body: { ...VALID.partner, breakageShareBps: null },
    status: 400,
    field: 'breakageShareBps',
  },
  // The same for every other field that may be omitted: null is refused, naming the field.
  { name: 'a reversal with null points', ...REVERSALS, body: { ...VALID.reversal, points: null }, status: 400, field: 'points' },
  { name: 'a capture with null points', ...CAPTURE, body: { ...VALID.capture, points: null }, status: 400, field: 'points' },
  { name: 'an enrolment with a null memberId', ...MEMBERS, body: { ...VALID.member, memberId: null }, status: 400, field: 'memberId' },
  { name: 'an enrolment with a null birthDate', ...MEMBERS, body: { ...VALID.member, birthDate: null }, status: 400, field: 'birthDate' },
  { name: 'terms with a null earnRule', ...TERMS, body: { ...VALID.terms, earnRule: null }, status: 400, field: 'earnRule' },
  { name: 'terms without effectiveFrom', ...TERMS, body: { issuanceFeeBps: 1, breakageShareBps: 1 }, status: 400, field: 'effectiveFrom' },
  // Fields that are not the sender's to set, and JSON that is not JSON.
  {
    name: 'an accrual naming another partner',
    ...ACCRUALS,
    body: { ...VALID.accrual, partnerId: 'cafe' },
    status: 400,
    field: 'partnerId',
  },
  {
    name: 'a redemption choosing its issuer',
    ...REDEMPTIONS,
    body: { ...VALID.redemption, issuerPartnerId: 'cafe' },
    status: 400,
    field: 'issuerPartnerId',
  },
  { name: 'a trailing comma', ...ACCRUALS, raw: JSON.stringify(VALID.accrual).replace(/}$/, ',}'), status: 400, field: 'body' },
  { name: 'a comment', ...REDEMPTIONS, raw: `/* till 7 */${JSON.stringify(VALID.redemption)}`, status: 400, field: 'body' },
  { name: 'NaN', ...REDEMPTIONS, raw: JSON.stringify(VALID.redemption).replace('"points":5', '"points":NaN'), status: 400, field: 'body' },
  { name: 'single quotes', ...SETTLEMENTS, raw: "{'periodId':'2026-10'}", status: 400, field: 'body' },
  {
    name: 'a lone surrogate in an externalId',
    ...ACCRUALS,
    raw: JSON.stringify(VALID.accrual).replace('"h-1"', '"h-\\ud800"'),
    status: 400,
    field: 'externalId',
  },
];

describe('hostile input on every POST and PUT route', () => {
  let f: HostileFixture;
  beforeAll(async () => {
    f = await startHostileFixture();
  });
  afterAll(() => f.t.close());

  it('has at least 60 cases, and every write route is attacked', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    const attacked = new Set(CASES.map((c) => `${c.method} ${c.url}`));
    for (const route of WRITE_ROUTES) expect(attacked).toContain(`${route.method} ${route.url}`);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const before = await f.eventCount();
    const res = await f.send(hostile);
    expect({ status: res.status, body: res.body }).toMatchObject({
      status: hostile.status,
      body: {
        statusCode: hostile.status,
        error: expect.any(String),
        code: hostile.code ?? expect.any(String),
        message: expect.any(String),
      },
    });
    expect(res.body.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: hostile.field, reason: expect.any(String) })]),
    );
    expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(await f.eventCount()).toBe(before);
  });
});

describe('a partner registered with null rates', () => {
  let f: HostileFixture;
  beforeAll(async () => {
    f = await startHostileFixture();
  });
  afterAll(() => f.t.close());

  it('is refused, and the next period close still succeeds', async () => {
    const refused = await f.send({ ...PARTNERS, body: { ...VALID.partner, issuanceFeeBps: null, breakageShareBps: null } });
    expect(refused.status).toBe(400);
    const close = await f.send({ ...SETTLEMENTS, body: { periodId: '2026-10' } });
    expect({ status: close.status, log: f.takeErrorLog() }).toEqual({ status: 201, log: [] });
    expect(close.body.periodId).toBe('2026-10');
  });

  it('registers with rates 0 when they are omitted', async () => {
    const {
      issuanceFeeBps: _fee,
      breakageShareBps: _share,
      ...withoutRates
    } = { issuanceFeeBps: 1, breakageShareBps: 1, ...VALID.partner };
    const res = await f.send({ ...PARTNERS, body: { ...withoutRates, partnerId: 'no-rates' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ issuanceFeeBps: 0, breakageShareBps: 0 });
  });
});

/** Each case is a valid request with one thing changed: the valid one itself is accepted. */
describe('the valid bodies the hostile cases start from', () => {
  let f: HostileFixture;
  beforeAll(async () => {
    f = await startHostileFixture();
  });
  afterAll(() => f.t.close());

  it.each(WRITE_ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))('%s accepts its valid body', async (_name, route) => {
    const before = await f.eventCount();
    const res = await f.send({
      method: route.method,
      url: route.url,
      as: route.as,
      body: route.valid,
      contentType: route.valid ? 'application/json' : null,
    });
    expect([200, 201]).toContain(res.status);
    // Re-configuring the coalition with the same values is the one write that may append nothing.
    if (route.url !== '/v1/coalition') expect(await f.eventCount()).toBeGreaterThan(before);
  });
});
