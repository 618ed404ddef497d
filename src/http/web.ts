// The dashboard, served by the API server: web/src (Preact, TypeScript) is bundled with esbuild when
// the server starts — in memory, so there is no build step to forget and no stale bundle to serve.
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

export interface WebBundle {
  js: string;
  css: string;
  version: string;
}

let cached: Promise<WebBundle> | undefined;

/** Bundle the dashboard once per process. */
export function bundleDashboard(): Promise<WebBundle> {
  cached ??= (async () => {
    const result = await build({
      entryPoints: [path.join(webDir, 'src/main.tsx')],
      bundle: true,
      write: false,
      format: 'esm',
      target: ['chrome110', 'firefox110', 'safari16'],
      minify: true,
      sourcemap: false,
      jsx: 'automatic',
      jsxImportSource: 'preact',
      legalComments: 'none',
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    const js = result.outputFiles[0]!.text;
    const css = fs.readFileSync(path.join(webDir, 'styles.css'), 'utf8');
    const version = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
    return { js, css, version };
  })();
  return cached;
}

function indexHtml(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Axiom</title>
<link rel="stylesheet" href="/assets/app.${version}.css">
</head>
<body>
<div id="app"></div>
<noscript>The Axiom dashboard needs JavaScript. The API is at /api/docs.</noscript>
<script type="module" src="/assets/app.${version}.js"></script>
</body>
</html>
`;
}

export async function registerDashboard(app: FastifyInstance): Promise<void> {
  const bundle = await bundleDashboard();
  const html = indexHtml(bundle.version);
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html),
  );
  app.get(`/assets/app.${bundle.version}.js`, { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(bundle.js),
  );
  app.get(`/assets/app.${bundle.version}.css`, { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(bundle.css),
  );
}
