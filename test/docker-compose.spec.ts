import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * The deployment in docker/ checked without Docker: the compose file is parsed and its services,
 * ports, environment, volumes and healthchecks are checked; the Dockerfile is checked as text.
 * Where the docker-compose binary exists (CI installs it), `docker-compose config -q` validates the file too.
 */

const root = join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS beside the CLI's entry, read as the CLI reads it
const { LEDGER_NODE_FLAGS } = require(join(root, 'bin', 'runtime-flags.js')) as { LEDGER_NODE_FLAGS: string[] };
const composeFile = join(root, 'docker', 'docker-compose.yml');
const dockerfile = join(root, 'docker', 'Dockerfile');
const dockerignore = join(root, 'docker', 'Dockerfile.dockerignore');

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Env | string[];
  ports?: (string | number | { target: number; published?: number | string; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean; interval?: string; retries?: number };
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  restart?: string;
  hostname?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, { name?: string } | null>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } } | null>;
}

// Compose resolves `<<` merge keys (YAML 1.1); the yaml package does so only when asked.
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as ComposeFile;
const services = compose.services;

const envOf = (s: Service): Env => {
  if (!s.environment) return {};
  if (!Array.isArray(s.environment)) return Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(
    s.environment.map((line) => {
      const i = line.indexOf('=');
      return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
    }),
  );
};
const commandOf = (s: Service): string[] => (s.command === undefined ? [] : Array.isArray(s.command) ? s.command : s.command.split(/\s+/));
const healthTestOf = (s: Service): string => {
  const t = s.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
};
const dependsOf = (s: Service): Record<string, string> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']))
    : Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v?.condition ?? 'service_started']));
const replicasOf = (s: Service): number => s.deploy?.replicas ?? 1;
const ipOf = (s: Service): string | undefined =>
  s.networks && !Array.isArray(s.networks) ? Object.values(s.networks).find((n) => n?.ipv4_address)?.ipv4_address : undefined;
const networkNamesOf = (s: Service): string[] => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? { default: null }));

/** Named volumes a service mounts, as { volume name -> container path } (bind mounts and anonymous volumes left out). */
const namedVolumesOf = (s: Service): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const v of s.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (target && !/^[./~]/.test(source)) out[source] = target;
    } else if ((v.type ?? 'volume') === 'volume' && v.source) out[v.source] = v.target;
  }
  return out;
};

/** Host ports a service publishes (short or long syntax, single ports or ranges), per host IP. */
const hostPortsOf = (s: Service): { hostIp: string; ports: number[]; target: number }[] =>
  (s.ports ?? []).map((p) => {
    let hostIp = '0.0.0.0';
    let published: string;
    let target: number;
    if (typeof p === 'object') {
      hostIp = p.host_ip ?? hostIp;
      published = String(p.published ?? '');
      target = p.target;
    } else {
      const parts = String(p)
        .replace(/\/(tcp|udp)$/, '')
        .split(':');
      if (parts.length === 3) hostIp = parts.shift() as string;
      if (parts.length === 1) parts.unshift('');
      published = parts[0];
      target = Number(parts[1]);
    }
    const [from, to] = published.split('-').map(Number);
    const ports = published === '' ? [] : Array.from({ length: (to || from) - from + 1 }, (_, i) => from + i);
    return { hostIp, ports, target };
  });

/** `esdb://a:1,b:2?x=y` / `esdb+discover://...` -> parts (credentials, if any, dropped). */
const parseEsdb = (url: string) => {
  const m = /^(esdb|esdb\+discover):\/\/(?:[^@/]*@)?([^/?]+)\/?(?:\?(.*))?$/.exec(url);
  if (!m) throw new Error(`not an esdb connection string: ${url}`);
  return { protocol: m[1], hosts: m[2].split(','), query: new URLSearchParams(m[3] ?? '') };
};

const nodeNames = Object.keys(services).filter((name) => /kurrentdb/.test(services[name].image ?? ''));
const ledgerServices = (command: string) => Object.keys(services).filter((name) => commandOf(services[name])[0] === command);

/** Maps a host (service name, hostname or fixed IP) to the KurrentDB service it designates. */
const nodeByHost = (host: string): string | undefined =>
  nodeNames.find((n) => n === host || services[n].hostname === host || ipOf(services[n]) === host);

describe('docker/docker-compose.yml: the KurrentDB cluster', () => {
  it('has three nodes on one pinned KurrentDB image', () => {
    expect(nodeNames.sort()).toEqual(['node1', 'node2', 'node3']);
    const images = new Set(nodeNames.map((n) => services[n].image));
    expect(images.size).toBe(1);
    // pinned to a 25.x release, never `latest` or untagged
    expect([...images][0]).toMatch(/kurrentdb:25\.\d+(\.\d+)?$/);
  });

  it.each(['node1', 'node2', 'node3'])('%s: cluster of 3, insecure, no server projections, KURRENTDB_* names', (node) => {
    const env = envOf(services[node]);
    expect(env).toMatchObject({
      KURRENTDB_CLUSTER_SIZE: '3',
      KURRENTDB_INSECURE: 'true',
      KURRENTDB_RUN_PROJECTIONS: 'None',
      KURRENTDB_DISCOVER_VIA_DNS: 'false',
    });
    // KurrentDB 25 deprecated the EVENTSTORE_ prefix and removed the Ext*/Int* option names.
    expect(Object.keys(env).filter((k) => k.startsWith('EVENTSTORE_'))).toEqual([]);
    expect(Object.keys(env).filter((k) => /_(EXT|INT)_/.test(k))).toEqual([]);
  });

  it.each(['node1', 'node2', 'node3'])('%s: gossip seeds are exactly the other two nodes on their HTTP port', (node) => {
    const seeds = envOf(services[node])
      .KURRENTDB_GOSSIP_SEED.split(',')
      .map((s) => s.trim());
    expect(seeds).toHaveLength(2);
    for (const seed of seeds) expect(seed).toMatch(/:2113$/);
    const seeded = seeds.map((seed) => nodeByHost(seed.replace(/:\d+$/, '')));
    expect(seeded.sort()).toEqual(nodeNames.filter((n) => n !== node).sort());
  });

  it.each(['node1', 'node2', 'node3'])('%s: binds replication to and advertises its own fixed address', (node) => {
    const ip = ipOf(services[node]);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const env = envOf(services[node]);
    expect(env.KURRENTDB_REPLICATION_IP).toBe(ip);
    expect(env.KURRENTDB_NODE_HOST_ADVERTISE_AS).toBe(ip);
    // HTTP on all interfaces, so the healthcheck's localhost reaches it
    expect(env.KURRENTDB_NODE_IP).toBe('0.0.0.0');
  });

  it('gives the nodes distinct fixed addresses inside the declared subnet', () => {
    const ips = nodeNames.map((n) => ipOf(services[n]) as string);
    expect(new Set(ips).size).toBe(3);
    const nets = new Set(nodeNames.flatMap((n) => networkNamesOf(services[n])));
    expect(nets.size).toBe(1);
    const subnet = compose.networks?.[[...nets][0]]?.ipam?.config?.[0]?.subnet;
    expect(subnet).toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    const prefix = (subnet as string).replace(/0\/24$/, '');
    for (const ip of ips) expect(ip.startsWith(prefix)).toBe(true);
  });

  it.each(['node1', 'node2', 'node3'])('%s: persistent named volumes for data and logs, not shared', (node) => {
    const vols = Object.entries(namedVolumesOf(services[node]));
    expect(vols.map(([, target]) => target).sort()).toEqual(['/var/lib/kurrentdb', '/var/log/kurrentdb']);
    for (const other of nodeNames.filter((n) => n !== node)) {
      for (const [name] of vols) expect(Object.keys(namedVolumesOf(services[other]))).not.toContain(name);
    }
  });

  it.each(['node1', 'node2', 'node3'])('%s: healthcheck on /health/live with curl, restarts', (node) => {
    expect(services[node].healthcheck?.disable).not.toBe(true);
    expect(healthTestOf(services[node])).toMatch(/^CMD(-SHELL)? curl -f http:\/\/localhost:2113\/health\/live$/);
    expect(services[node].restart).toBe('unless-stopped');
  });
});

describe('docker/docker-compose.yml: the ledger services', () => {
  const apis = ledgerServices('serve');
  const projectors = ledgerServices('project');

  it('runs the API twice (replicas or instances) and the projector once', () => {
    expect(apis.length).toBeGreaterThan(0);
    expect(apis.reduce((n, s) => n + replicasOf(services[s]), 0)).toBe(2);
    expect(projectors).toHaveLength(1);
    expect(replicasOf(services[projectors[0]])).toBe(1);
  });

  it('builds both from docker/Dockerfile with the repository root as the context, into one image', () => {
    for (const s of [...apis, ...projectors]) {
      expect(services[s].build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
    }
    expect(new Set([...apis, ...projectors].map((s) => services[s].image)).size).toBe(1);
  });

  it('points API and projector at all three nodes through gossip seeds, without TLS', () => {
    for (const s of [...apis, ...projectors]) {
      const { protocol, hosts, query } = parseEsdb(envOf(services[s]).LEDGER_EVENTSTORE);
      // @eventstore/db-client 6.x: `esdb+discover://` takes a single DNS name (further hosts are ignored);
      // several hosts are gossip seeds only in the `esdb://a,b,c` form.
      if (protocol === 'esdb+discover') expect(hosts).toHaveLength(1);
      else expect(hosts.map((h) => nodeByHost(h.replace(/:\d+$/, ''))).sort()).toEqual(['node1', 'node2', 'node3']);
      for (const h of hosts) expect(h).toMatch(/:2113$/);
      expect(query.get('tls')).toBe('false');
    }
    expect(new Set([...apis, ...projectors].map((s) => envOf(services[s]).LEDGER_EVENTSTORE)).size).toBe(1);
  });

  it('API: demo off, projection runner off, data dir of the image', () => {
    for (const s of apis) {
      expect(envOf(services[s])).toMatchObject({ LEDGER_DEMO: 'off', LEDGER_PROJECTOR: 'off', LEDGER_DATA_DIR: '/var/lib/ledger' });
      // the admin key comes from the deployer's environment, never from the file
      expect(envOf(services[s]).LEDGER_ADMIN_KEY ?? '').toMatch(/^(\$\{LEDGER_ADMIN_KEY[^}]*\})?$/);
    }
  });

  it('API: healthcheck on /health/ready (readiness) with node (the slim image has no curl)', () => {
    for (const s of apis) {
      expect(services[s].healthcheck?.disable).not.toBe(true);
      const test = healthTestOf(services[s]);
      expect(test).toMatch(/^CMD node -e /);
      expect(test).toContain("fetch('http://127.0.0.1:3000/health/ready')");
      expect(test).toContain('r.ok ? 0 : 1');
      expect(envOf(services[s]).LEDGER_READY_MAX_LAG).toMatch(/^\d+$/);
    }
  });

  it('API and projector start after all three nodes and PostgreSQL are healthy', () => {
    for (const s of [...apis, ...projectors]) {
      expect(dependsOf(services[s])).toEqual({
        node1: 'service_healthy',
        node2: 'service_healthy',
        node3: 'service_healthy',
        postgres: 'service_healthy',
      });
    }
  });

  it('API: every replica gets its own host port for container port 3000', () => {
    for (const s of apis) {
      const published = hostPortsOf(services[s]).filter((p) => p.target === 3000);
      expect(published).toHaveLength(1);
      expect(published[0].ports.length).toBeGreaterThanOrEqual(replicasOf(services[s]));
    }
  });

  it('no two services publish the same host port', () => {
    const published = Object.entries(services).flatMap(([name, s]) =>
      hostPortsOf(s).flatMap(({ hostIp, ports }) => ports.map((port) => ({ name, hostIp, port }))),
    );
    expect(published.length).toBeGreaterThan(0);
    const clashes = published.filter((a, i) =>
      published.some((b, j) => j > i && a.port === b.port && (a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0')),
    );
    expect(clashes).toEqual([]);
  });

  it('projector: runs `project`, one replica, no port, no HTTP healthcheck', () => {
    const p = services[projectors[0]];
    expect(commandOf(p)).toEqual(['project']);
    // no HTTP port in a projector: the image's /health check must not mark it unhealthy
    expect(p.healthcheck?.disable).toBe(true);
    expect(p.ports ?? []).toEqual([]);
  });

  it('API replicas and projector keep the read models in the postgres service, one URL for all', () => {
    const urls = [...apis, ...projectors].map((s) => envOf(services[s]).LEDGER_READ_STORE);
    expect(new Set(urls).size).toBe(1);
    const url = new URL(urls[0].replace(/\$\{[^}]*\}/g, 'secret'));
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgres');
    expect(url.port).toBe('5432');
    const pg = services.postgres;
    expect(pg.image).toMatch(/^postgres:1[5-9]\.\d+/);
    expect(envOf(pg)).toMatchObject({ POSTGRES_USER: url.username, POSTGRES_DB: url.pathname.slice(1) });
    // The password comes from the deployer's environment, with the same default on both sides.
    expect(envOf(pg).POSTGRES_PASSWORD).toBe(decodeURIComponent(/:\/\/[^:]+:([^@]+)@/.exec(urls[0])![1]));
    expect(healthTestOf(pg)).toMatch(/pg_isready/);
    expect(Object.values(namedVolumesOf(pg))).toEqual(['/var/lib/postgresql/data']);
    expect(hostPortsOf(pg)).toEqual([]);
  });

  it('no volume is shared between containers', () => {
    const mounts = Object.entries(services).flatMap(([name, s]) =>
      Object.keys(namedVolumesOf(s)).map((volume) => ({ name, volume, containers: replicasOf(s) })),
    );
    for (const m of mounts) {
      expect({ ...m, sharedWith: mounts.filter((o) => o.volume === m.volume && o.name !== m.name).map((o) => o.name) }).toEqual({
        ...m,
        sharedWith: [],
      });
      // A named volume on a replicated service would be one volume for every replica.
      expect({ volume: m.volume, containers: m.containers }).toEqual({ volume: m.volume, containers: 1 });
    }
  });

  it('every named volume a service mounts is declared, and every declared volume is used', () => {
    const declared = Object.keys(compose.volumes ?? {}).sort();
    const used = [...new Set(Object.values(services).flatMap((s) => Object.keys(namedVolumesOf(s))))].sort();
    expect(used).toEqual(declared);
  });

  it('every network a service joins is declared', () => {
    const declared = Object.keys(compose.networks ?? {});
    for (const s of Object.values(services)) for (const n of networkNamesOf(s)) expect(declared).toContain(n);
  });
});

describe('docker/Dockerfile', () => {
  const text = readFileSync(dockerfile, 'utf8');
  // instructions with line continuations joined and comments dropped
  const instructions = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
  const stageStarts = instructions.flatMap((ins, i) => (ins.keyword === 'FROM' ? [i] : []));
  const finalStage = instructions.slice(stageStarts[stageStarts.length - 1]);
  const first = (list: typeof instructions, keyword: string) => list.filter((i) => i.keyword === keyword);

  it('is multi-stage: builds on node:20-bookworm, runs on node:20-bookworm-slim', () => {
    expect(stageStarts.length).toBeGreaterThanOrEqual(2);
    expect(instructions[stageStarts[0]].args).toMatch(/^node:20-bookworm\s+AS\s+\w+/i);
    expect(finalStage[0].args).toMatch(/^node:20-bookworm-slim(\s|$)/);
  });

  it('build stage: installs, compiles and prunes dev dependencies; runtime copies the results from it', () => {
    const buildStage = instructions.slice(stageStarts[0], stageStarts[1]);
    const runs = first(buildStage, 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build\b/);
    expect(runs).toMatch(/npm prune --omit=dev\b/);
    const copied = first(finalStage, 'COPY')
      .filter((i) => /--from=/.test(i.args))
      .map((i) => i.args);
    for (const what of ['package.json', 'bin', 'dist', 'node_modules']) {
      expect(copied.some((c) => new RegExp(`/app/${what}\\s`).test(c))).toBe(true);
    }
  });

  it('runs as a non-root user', () => {
    const users = first(finalStage, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1].args).not.toMatch(/^(root|0)(:|$)/);
  });

  it('keeps its data in a volume at LEDGER_DATA_DIR=/var/lib/ledger', () => {
    expect(
      first(finalStage, 'ENV')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/LEDGER_DATA_DIR=\/var\/lib\/ledger\b/);
    expect(first(finalStage, 'VOLUME').map((i) => i.args)).toContainEqual(expect.stringContaining('/var/lib/ledger'));
  });

  it('exposes 3000 and checks /health/ready with node', () => {
    expect(first(finalStage, 'EXPOSE').map((i) => i.args)).toContain('3000');
    const health = first(finalStage, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0].args).toMatch(/CMD\s+\[?"?node/);
    expect(health[0].args).toContain("'/health/ready'");
    expect(health[0].args).not.toMatch(/curl|wget/);
  });

  it('starts the CLI: ENTRYPOINT node with the ledger’s runtime flags and bin/ledger.js, CMD serve', () => {
    expect(JSON.parse(first(finalStage, 'ENTRYPOINT')[0].args)).toEqual(['node', ...LEDGER_NODE_FLAGS, 'bin/ledger.js']);
    expect(JSON.parse(first(finalStage, 'CMD').slice(-1)[0].args)).toEqual(['serve']);
  });

  it('has an ignore file next to it for a context at the repository root', () => {
    const ignored = readFileSync(dockerignore, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.git']) expect(ignored).toContain(entry);
  });
});

const onPath = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return !r.error && r.status === 0;
};
const hasDockerCompose = onPath('docker-compose', ['version']);
const hasDockerComposeV2 = onPath('docker', ['compose', 'version']);
const validate = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, [...args, '-f', 'docker/docker-compose.yml', 'config', '-q'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.error).toBeUndefined();
  // stderr is part of the expectation so that a failure shows what the tool said
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
};

// Skipped, and saying so in the test name, where the tool is missing; CI installs docker-compose.
describe('compose validation by the real tool', () => {
  (hasDockerCompose ? it : it.skip)(
    `docker-compose -f docker/docker-compose.yml config -q exits 0${hasDockerCompose ? '' : ' (docker-compose is not on PATH)'}`,
    () => validate('docker-compose', []),
  );

  (hasDockerComposeV2 ? it : it.skip)(
    `docker compose -f docker/docker-compose.yml config -q exits 0${hasDockerComposeV2 ? '' : ' (docker compose is not available)'}`,
    () => validate('docker', ['compose']),
  );
});
