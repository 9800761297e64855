import 'reflect-metadata';
import { Command } from 'commander';
import { serve } from './commands/serve';
import { registerSettleCommand } from './commands/settle';
import { registerBackupCommand } from './commands/backup';
import { registerProjectCommand } from './commands/project';
import { registerRebuildCommand } from './commands/rebuild';
import { registerDemoCommand } from './commands/demo';
import { registerAuditCommands } from './commands/audit';
import { registerLapseHoldsCommand } from './commands/lapse-holds';
import { registerExpireCommand } from './commands/expire';
import { registerReviewTiersCommand } from './commands/review-tiers';
import { registerBirthdayBonusesCommand } from './commands/birthday-bonuses';
import { registerReportCommands } from './commands/report';
import { registerReleasePendingCommand } from './commands/release-pending';

const program = new Command('ledger')
  .description('coalition-ledger: an event-sourced points ledger for a coalition loyalty programme')
  .showHelpAfterError();

program
  .command('serve')
  .description('start the HTTP API (embedded SQLite in $LEDGER_DATA_DIR unless $LEDGER_EVENTSTORE is set)')
  .action(serve);

registerSettleCommand(program);
registerBackupCommand(program);
registerProjectCommand(program);
registerRebuildCommand(program);
registerDemoCommand(program);
registerAuditCommands(program);
registerLapseHoldsCommand(program);
registerExpireCommand(program);
registerReviewTiersCommand(program);
registerBirthdayBonusesCommand(program);
registerReportCommands(program);
registerReleasePendingCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`ledger: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
