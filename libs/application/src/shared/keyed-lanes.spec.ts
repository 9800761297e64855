import { KeyedLanes } from './keyed-lanes';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedLanes', () => {
  it('runs the tasks of one key one at a time, in the order given', async () => {
    const lanes = new KeyedLanes();
    const log: string[] = [];
    let running = 0;
    const task = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([lanes.run('m', task('a')), lanes.run('m', task('b')), lanes.run('m', task('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs tasks of different keys side by side', async () => {
    const lanes = new KeyedLanes();
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = lanes.run('m1', async () => {
      started.push('m1');
      await gate;
    });
    const b = lanes.run('m2', async () => {
      started.push('m2');
    });
    await b;
    expect(started).toEqual(['m1', 'm2']);
    release();
    await a;
  });

  it('a failed task fails only its own caller, and the lane goes on', async () => {
    const lanes = new KeyedLanes();
    const failed = lanes.run('m', async () => {
      throw new Error('refused');
    });
    const next = lanes.run('m', async () => 'after');
    await expect(failed).rejects.toThrow('refused');
    await expect(next).resolves.toBe('after');
  });

  it('forgets a lane once its last task settled', async () => {
    const lanes = new KeyedLanes();
    await Promise.all([lanes.run('m', async () => 1), lanes.run('n', async () => 2)]);
    await tick();
    expect(lanes.busy).toBe(0);
  });
});
