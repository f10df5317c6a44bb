/**
 * The page's files: a fixed table from URL path to file, read once at start. Nothing else is
 * served from disk, so no request path can name another file (`..`, encoded slashes and the like
 * never reach the file system).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the page. */
export interface StaticFile {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The page's files by URL path: the HTML, its script and style, and uPlot from node_modules. */
export function loadStaticFiles(): ReadonlyMap<string, StaticFile> {
  const own = join(dirname(fileURLToPath(import.meta.url)), '..', 'static');
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const html = 'text/html; charset=utf-8';
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return new Map<string, StaticFile>([
    ['/', { contentType: html, body: readFileSync(join(own, 'index.html')) }],
    ['/app.js', { contentType: js, body: readFileSync(join(own, 'app.js')) }],
    ['/app.css', { contentType: css, body: readFileSync(join(own, 'app.css')) }],
    ['/vendor/uPlot.iife.min.js', { contentType: js, body: readFileSync(join(uplot, 'uPlot.iife.min.js')) }],
    ['/vendor/uPlot.min.css', { contentType: css, body: readFileSync(join(uplot, 'uPlot.min.css')) }],
  ]);
}
