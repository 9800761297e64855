import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const CONSOLE_PATH = '/console';

/** The project root: the nearest folder above this file whose package.json is this project's. */
function projectRoot(from: string): string | undefined {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'coalition-ledger') return dir;
  }
  return undefined;
}

/** Where `npm run build` puts the console's static files (vite, apps/console → dist/console). */
export function consoleBuildDir(): string | undefined {
  const root = projectRoot(__dirname);
  const dir = root && join(root, 'dist', 'console');
  return dir && existsSync(join(dir, 'index.html')) ? dir : undefined;
}

/**
 * Serves the web console (apps/console, built into dist/console) at /console/. It is static
 * files only: the page talks to the same public API as any client, with the key the user
 * pastes. Without a build, /console says how to make one.
 */
@Injectable()
export class ConsoleStatic implements OnModuleInit {
  private readonly logger = new Logger('Console');

  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    // A Nest context without HTTP (a bare testing module) has nothing to serve from.
    if (this.host.httpAdapter === undefined) return;
    const fastify = this.host.httpAdapter.getInstance<FastifyInstance>();
    const root = consoleBuildDir();
    if (root === undefined) {
      this.logger.warn('the web console is not built (npm run build); /console answers 404');
      fastify.get(`${CONSOLE_PATH}/*`, notBuilt);
      return;
    }
    // Not awaited: awaiting would boot fastify's plugin queue here, before Nest has set its
    // error handler on the routes; queued, the plugin loads when the app becomes ready.
    void fastify.register(fastifyStatic, {
      root,
      prefix: `${CONSOLE_PATH}/`,
      redirect: true,
      decorateReply: false,
      // Hashed asset names change with their content; the page itself is always asked afresh.
      setHeaders: (reply, path) => {
        void reply.header('Cache-Control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
        void reply.header('Referrer-Policy', 'no-referrer');
      },
    });
  }
}

function notBuilt(_request: unknown, reply: { code(n: number): { type(t: string): { send(b: string): void } } }): void {
  reply.code(404).type('text/plain; charset=utf-8').send('The web console is not built: run `npm run build`.\n');
}
