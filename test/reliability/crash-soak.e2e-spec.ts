import { rmSync } from 'node:fs';
import { tempDir } from '@ledger/testing';
import { requireBuilt } from './child-service';
import { runCrashSoak } from './crash-soak';

/** Five rounds of the crash soak in CI; `npm run soak -- --rounds 100` runs the long one. */
describe('crash soak (built CLI, SIGKILL at random moments)', () => {
  let dir: string;
  beforeAll(requireBuilt);
  beforeEach(() => (dir = tempDir('ledger-soak-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('5 rounds: nothing acknowledged is lost or doubled, replays answer the same, verify green, read models equal a rebuild', async () => {
    const report = await runCrashSoak({ dataDir: dir, rounds: 5, seed: 7 });
    process.stderr.write(`crash soak: ${JSON.stringify({ ...report, problems: report.problems.length })}\n`);
    expect(report.problems).toEqual([]);
    expect(report.acknowledged).toBeGreaterThan(100);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.replayMismatches).toBe(0);
    expect(report.verifyExitCode).toBe(0);
    expect(report.readModelsEqualRebuild).toBe(true);
  }, 180_000);
});
