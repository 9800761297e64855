import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, EventStore } from '@ledger/event-store';
import { Actor } from '../shared/command-meta';
import { LEDGER_CONFIG, LedgerConfig } from '../shared/ledger-config';
import { loadCoalition, loadPartner } from '../shared/reference-data';
import { STAFF_SCOPE, hashKey, parseApiKey, sameHash } from './api-keys';

/**
 * Resolves a bearer key to who holds it, reading the one stream that holds its hash, so a
 * key issued or revoked through any API replica counts at once on every replica.
 */
@Injectable()
export class Authenticator {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async authenticate(key: string): Promise<Actor | undefined> {
    const hash = hashKey(key);
    if (this.config.adminKey && sameHash(hash, hashKey(this.config.adminKey))) {
      return { keyId: 'env-admin', role: 'admin' };
    }
    const parsed = parseApiKey(key);
    if (!parsed) return undefined;
    if (parsed.scope === STAFF_SCOPE) {
      const { state } = await loadCoalition(this.store);
      const found = state.keys.get(parsed.keyId);
      if (!found || found.revoked || !sameHash(found.keyHash, hash)) return undefined;
      return { keyId: parsed.keyId, role: found.role };
    }
    const { state } = await loadPartner(this.store, parsed.scope);
    const found = state.keys.get(parsed.keyId);
    if (!found || found.revoked || !sameHash(found.keyHash, hash)) return undefined;
    return { keyId: parsed.keyId, role: 'partner', partnerId: parsed.scope };
  }
}
