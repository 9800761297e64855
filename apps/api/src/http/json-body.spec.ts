import { BadRequestException } from '@nestjs/common';
import { parseJsonBody } from './json-body';

/** The problems named by the 400 a body gets, or 'ok' with the parsed value. */
function outcome(text: string): unknown {
  try {
    return { ok: parseJsonBody(text) };
  } catch (err) {
    if (!(err instanceof BadRequestException)) throw err;
    return (err.getResponse() as { details: unknown }).details;
  }
}

describe('strict JSON bodies', () => {
  it('given a well-formed body, when parsed, then it is the value JSON.parse gives', () => {
    const body = '{"externalId":"t-1","memberId":"m-1","amountMinor":150000,"currency":"RUB","occurredAt":"2026-10-05T10:00:00Z"}';
    expect(outcome(body)).toEqual({ ok: JSON.parse(body) });
    // Colons and quotes inside strings are no keys; whitespace around the colon is.
    expect(outcome('{ "a" : "x\\":", "b\\"c" :\n[1, {"d": -1, "e": "f:"}], "g": {} }')).toEqual({
      ok: { a: 'x":', 'b"c': [1, { d: -1, e: 'f:' }], g: {} },
    });
    expect(outcome('[1, 2]')).toEqual({ ok: [1, 2] });
  });

  it('given a repeated key at any depth, when parsed, then the 400 names it', () => {
    expect(outcome('{"amountMinor":1,"amountMinor":2}')).toEqual([{ field: 'amountMinor', reason: 'appears more than once' }]);
    expect(outcome('{"earnRule":{"unitMinor":1, "unitMinor" :1}}')).toEqual([
      { field: 'earnRule.unitMinor', reason: 'appears more than once' },
    ]);
    // The same key in two different objects is no repeat.
    expect(outcome('{"a":{"k":1},"b":{"k":1}}')).toEqual({ ok: { a: { k: 1 }, b: { k: 1 } } });
  });

  it('given __proto__ or a negative zero anywhere, when parsed, then the 400 names the field', () => {
    expect(outcome('{"__proto__":{"isAdmin":true}}')).toEqual([{ field: '__proto__', reason: 'is not an accepted field' }]);
    expect(outcome('{"earnRule":{"constructor":1}}')).toEqual([{ field: 'earnRule.constructor', reason: 'is not an accepted field' }]);
    expect(outcome('{"points":-0}')).toEqual([{ field: 'points', reason: 'must not be negative zero' }]);
    expect(outcome('{"list":[1,-0.0]}')).toEqual([{ field: 'list.1', reason: 'must not be negative zero' }]);
  });
});
