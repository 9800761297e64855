import { canonicalJson } from './canonical-json';

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

  it('rejects undefined inside an array rather than guessing null', () => {
    expect(() => canonicalJson([1, undefined])).toThrow(TypeError);
  });
});
