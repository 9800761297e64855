import { hashKey, newApiKey, parseApiKey, sameHash } from './api-keys';

describe('API keys', () => {
  it('hashes a key to the sha256 every stored keyHash was made with', () => {
    // The FIPS 180-2 test vector: a different hash would lock every issued key out.
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('issues a key whose hash and parts are read back from the key alone', () => {
    const { keyId, key, keyHash } = newApiKey('p01');
    expect(keyHash).toBe(hashKey(key));
    expect(parseApiKey(key)).toEqual({ scope: 'p01', keyId });
    expect(sameHash(keyHash, hashKey(key))).toBe(true);
    expect(sameHash(keyHash, hashKey(`${key}0`))).toBe(false);
  });
});
