import { Inject, Injectable } from '@nestjs/common';
import { Actor } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { ReferenceData } from '../shared/reference-data';
import { STAFF_SCOPE, hashKey, parseApiKey, sameHash } from './api-keys';

/**
 * Resolves a bearer key to who holds it, from the one stream that holds its hash (cached for
 * at most REFERENCE_TTL_MS), so a key issued or revoked through any API replica counts on
 * every replica within a second, and at once on the replica that wrote it.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly reference: ReferenceData,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  /** The admin key's hash, made once rather than on every request (remade if the configured key is another). */
  private admin: { key: string; hash: string } | undefined;

  async authenticate(key: string): Promise<Actor | undefined> {
    const hash = hashKey(key);
    const adminKey = this.config.adminKey;
    if (adminKey && this.admin?.key !== adminKey) this.admin = { key: adminKey, hash: hashKey(adminKey) };
    if (adminKey && sameHash(hash, this.admin!.hash)) {
      return { keyId: 'env-admin', role: 'admin' };
    }
    const parsed = parseApiKey(key);
    if (!parsed) return undefined;
    if (parsed.scope === STAFF_SCOPE) {
      const state = await this.reference.coalition();
      const found = state.keys.get(parsed.keyId);
      if (!found || found.revoked || !sameHash(found.keyHash, hash)) return undefined;
      return { keyId: parsed.keyId, role: found.role };
    }
    const state = await this.reference.partner(parsed.scope);
    const found = state.keys.get(parsed.keyId);
    if (!found || found.revoked || !sameHash(found.keyHash, hash)) return undefined;
    return { keyId: parsed.keyId, role: 'partner', partnerId: parsed.scope };
  }
}
