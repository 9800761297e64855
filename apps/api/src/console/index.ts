import { ConsoleReadsController } from './console-reads.controller';
import { ConsoleStatic } from './console-static';
import { SessionController } from './session.controller';
import { VerificationJobs } from './verification-jobs';
import { VerificationsController } from './verifications.controller';

export * from './console-static';
export * from './verification-jobs';

/** For ApiModule: the web console's static files and the reads it needs (issue 18). */
export const CONSOLE_CONTROLLERS = [SessionController, ConsoleReadsController, VerificationsController];
export const CONSOLE_PROVIDERS = [ConsoleStatic, VerificationJobs];
