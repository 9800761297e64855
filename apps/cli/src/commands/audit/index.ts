import { Command } from 'commander';
import { runBalance, runPosition } from './as-of';
import { runExport, runImport } from './export-import';
import { AuditIo, processIo } from './io';
import { runCheckProof, runProve } from './proofs';
import { runReplay } from './replay';
import { runVerify } from './verify';

export * from './io';
export { runReplay } from './replay';
export { runBalance, runPosition } from './as-of';
export { runVerify } from './verify';
export { runExport, runImport } from './export-import';
export { runProve, runCheckProof } from './proofs';

const AS_OF_HELP = 'a log position, or an ISO 8601 recorded time with a zone (what the ledger knew then); default: now';

/**
 * The auditor's commands (issue 7): replay, balance, position, verify, export, import,
 * prove, check-proof. Each sets the exit code instead of exiting, so output is flushed.
 */
export function registerAuditCommands(program: Command, io: () => AuditIo = processIo): void {
  const exit = (code: number) => {
    process.exitCode = code;
  };
  program
    .command('replay')
    .description("a stream's events in order: type, business and recorded time, actor, hash-chain check, a member's running balance")
    .argument('<stream>', 'stream id, e.g. member-m1, partner-grocer, settlement-2026-10')
    .option('--from <revision|time>', 'first revision, or earliest recorded time (inclusive)')
    .option('--to <revision|time>', 'last revision, or latest recorded time (inclusive)')
    .option('--json', 'JSON instead of a table')
    .action(async (stream: string, opts) => exit(await runReplay(stream, opts, io())));
  program
    .command('balance')
    .description("a member's balance computed from its events (not the read model)")
    .argument('<memberId>')
    .option('--as-of <position|time>', AS_OF_HELP)
    .option('--json', 'JSON output')
    .action(async (memberId: string, opts) => exit(await runBalance(memberId, opts, io())));
  program
    .command('position')
    .description("a partner's position computed from the events (not the read model)")
    .argument('<partnerId>')
    .option('--as-of <position|time>', AS_OF_HELP)
    .option('--json', 'JSON output')
    .action(async (partnerId: string, opts) => exit(await runPosition(partnerId, opts, io())));
  program
    .command('verify')
    .description('recompute hash chains, invariants, read models, closed statements and Merkle roots; exit 0 only if all hold')
    .option('--period <YYYY-MM>', "only this closed period's statement and Merkle root (the log is still checked whole)")
    .option('--no-read-model', 'do not compare $LEDGER_DATA_DIR/read.db')
    .option('--no-statements', 'do not recompute closed statements')
    .option('--json', 'the full report as JSON')
    .action(async (opts) => exit(await runVerify(opts, io())));
  program
    .command('export')
    .description('the log as JSON Lines (one event a line, with metadata and hashes) on stdout')
    .option('--stream <stream>', 'only this stream')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts) => exit(await runExport(opts, io())));
  program
    .command('import')
    .description('load an export into an EMPTY store, reproducing every hash and the order of the log')
    .argument('<file>', "an export (JSON Lines); '-' reads stdin")
    .option('--allow-broken-chain', 'import even if the hash chains do not verify (to investigate a damaged file)')
    .action(async (file: string, opts) => exit(await runImport(file, opts, io())));
  program
    .command('prove')
    .description("an inclusion proof that an event is among those a closed period's statement settles (JSON)")
    .argument('<eventId>')
    .requiredOption('--period <YYYY-MM>', 'the closed period')
    .action(async (eventId: string, opts) => exit(await runProve(eventId, opts, io())));
  program
    .command('check-proof')
    .description('check an inclusion proof with no store access; exit 0 only if it holds')
    .argument('<proof.json>')
    .option('--statement <statement.json>', "finance's statement file: also check it is intact and carries the proof's root")
    .option('--json', 'JSON output')
    .action(async (file: string, opts) => exit(await runCheckProof(file, opts, io())));
}
