import fc from 'fast-check';
import { canonicalJson } from './canonical-json';

/** The definition, written plainly: keys sorted by the general (code unit) sort, joined with commas. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(reference).join(',') + ']';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined);
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + reference(record[k])).join(',') + '}';
}

describe('canonicalJson', () => {
  it('sorts object keys by code unit, at every depth, with no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { z: true, y: null }, B: 'x' })).toBe('{"B":"x","a":{"y":null,"z":true},"b":1}');
  });

  it('yields the same bytes whatever order the fields were built in', () => {
    const one = { txId: 'p:1', points: 10, slices: [{ lotId: 'l', points: 10 }] };
    const other = { slices: [{ points: 10, lotId: 'l' }], points: 10, txId: 'p:1' };
    expect(canonicalJson(one)).toBe(canonicalJson(other));
  });

  it('orders keys by UTF-16 code unit, not by locale', () => {
    // 'Z' (0x5A) < '_' (0x5F) < 'a' (0x61) < 'é' (0xE9) < '😀' (0xD83D…) < 'ﬁ' (0xFB01)
    expect(canonicalJson({ ﬁ: 1, '😀': 2, é: 3, a: 4, _: 5, Z: 6 })).toBe('{"Z":6,"_":5,"a":4,"é":3,"😀":2,"ﬁ":1}');
  });

  it('orders keys that look like array indices as strings too, not as the object holds them', () => {
    expect(canonicalJson({ 9: 'a', 10: 'b', x: 'c' })).toBe('{"10":"b","9":"a","x":"c"}');
  });

  it('keeps array order', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  it('drops undefined fields, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('escapes strings as JSON does', () => {
    expect(canonicalJson({ 'k"': 'line\nbreak "quoted"' })).toBe('{"k\\"":"line\\nbreak \\"quoted\\""}');
  });

  it('writes negative zero as 0', () => {
    expect(canonicalJson(-0)).toBe('0');
  });

  it('holds safe integers at the edge', () => {
    expect(canonicalJson(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(canonicalJson(-Number.MAX_SAFE_INTEGER)).toBe('-9007199254740991');
  });

  it.each([1.5, 0.1, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, -Infinity])('rejects the non-integer or unsafe number %p', (n) => {
    expect(() => canonicalJson(n)).toThrow(TypeError);
    expect(() => canonicalJson({ nested: [n] })).toThrow(TypeError);
  });

  it.each([
    ['bigint', 1n],
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['undefined at the top', undefined],
  ])('rejects a %s', (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('equals JSON of the value with its keys sorted by the general sort, for any value it can hold', () => {
    const { tree } = fc.letrec((t) => ({
      tree: fc.oneof({ depthSize: 'small' }, t('leaf'), t('array'), t('object')),
      leaf: fc.oneof(fc.string({ unit: 'binary' }), fc.maxSafeInteger(), fc.boolean(), fc.constant(null)),
      array: fc.array(t('tree'), { maxLength: 5 }),
      // Binary keys, many of them new: also past the bound of the quoted-key cache.
      object: fc.dictionary(fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.nat(20).map(String)), t('tree'), { maxKeys: 14 }),
    }));
    fc.assert(
      fc.property(tree, (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('rejects undefined inside an array rather than guessing null', () => {
    expect(() => canonicalJson([1, undefined])).toThrow(TypeError);
  });
});
