import { AuditController } from './audit.controller';
import { AUDIT_QUERY_HANDLERS } from './audit.queries';

export * from './audit.controller';
export * from './audit.queries';
export * from './audit.requests';

/** For ApiModule: `controllers: [..., ...AUDIT_CONTROLLERS]`, `providers: [..., ...AUDIT_PROVIDERS]`. */
export const AUDIT_CONTROLLERS = [AuditController];
export const AUDIT_PROVIDERS = [...AUDIT_QUERY_HANDLERS];
