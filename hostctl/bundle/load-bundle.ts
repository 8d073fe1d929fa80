/**
 * Runs hostctl from its one-file bundle (hostctl/bundle/build-bundle.ts) with a V8 code cache beside it.
 *
 * Why: `hostctl capture -r BIG -w OUT EXPR` must finish as fast as tcpdump, and Node's start-up for ~100 ES
 * modules (resolve, read, parse, link each) plus compiling their functions cost more than the packets do. One
 * file skips the module loader; the code cache (V8's serialised bytecode, as Node 22's module.enableCompileCache
 * keeps it — Node 20 has no such thing for ES modules, only vm.Script's cachedData) skips parsing and compiling
 * the functions the cache was made with.
 *
 * Safety: V8 rejects a cache made by another V8 version or with other V8 flags, but checks the source only by
 * its length; so the cache file is named after the bundle's content hash (its first line), and a bundle older
 * than main.js (tsc ran after the bundler) is not used at all. A missing or rejected cache is written when the
 * process exits (atomically; an unwritable directory only costs the slow path). Imports only Node built-ins.
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

/** The bundle's file name, beside main.js. */
export const BUNDLE_FILE = "cli-bundle.cjs";
/** The module the bundle was made from; a newer one means the bundle is stale. */
export const BUNDLED_ENTRY = "main.js";
/** First line of a bundle: `// kopi-bundle <16 hex digits of its SHA-256>`. */
export const BUNDLE_HEADER = /^\/\/ kopi-bundle ([0-9a-f]{16})\n/;
/**
 * The bundle runs as the body of this function: CommonJS's parameters, plus the bundle's own file: URL, from
 * which each bundled module's import.meta.url is rebuilt (build-bundle.ts). ES modules are strict code.
 */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname, __kopiBundleUrl) {"use strict";';
const WRAPPER_TAIL = "\n})";

export type CacheState = "used" | "rejected" | "absent";

export interface LoadedBundle {
  exports: Record<string, unknown>;
  /** What became of the code cache: V8 took it, turned it down (it is rewritten at exit), or there was none. */
  cache: CacheState;
  cachePath: string;
}

/** `<bundle>.<hash>.v8cache`: the code cache of one build of the bundle. */
export function cachePathFor(bundlePath: string, hash: string): string {
  return `${bundlePath}.${hash}.v8cache`;
}

/** Whether a bundle at `bundlePath` exists and is at least as new as the module it was built from. */
function bundleIsCurrent(bundlePath: string): boolean {
  try {
    const bundled = statSync(bundlePath).mtimeMs;
    return statSync(join(dirname(bundlePath), BUNDLED_ENTRY)).mtimeMs <= bundled;
  } catch {
    return false;
  }
}

/**
 * Run the bundle at `bundlePath` and return its exports (main.ts's), or undefined when there is no current
 * bundle there (running from the sources, or a build without the bundler): the caller imports main.js then.
 */
export function loadBundle(bundlePath: string): LoadedBundle | undefined {
  if (!bundleIsCurrent(bundlePath)) return undefined;
  let source: string;
  try {
    source = readFileSync(bundlePath, "utf8");
  } catch {
    return undefined;
  }
  const hash = BUNDLE_HEADER.exec(source)?.[1];
  if (hash === undefined) return undefined;
  const cachePath = cachePathFor(bundlePath, hash);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    // no cache yet: this run writes one
  }
  const script = new vm.Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: bundlePath, cachedData });
  const cache: CacheState = cachedData === undefined ? "absent" : script.cachedDataRejected ? "rejected" : "used";
  // Made at exit, the cache also holds the functions this run compiled, not only the top level.
  if (cache !== "used") process.once("exit", () => writeCache(script, cachePath));
  const module = { exports: {} as Record<string, unknown> };
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  body.call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath), pathToFileURL(bundlePath).href);
  return { exports: module.exports, cache, cachePath };
}

function writeCache(script: vm.Script, cachePath: string): void {
  const temporary = `${cachePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cachePath); // atomic: a concurrent reader sees the whole cache or none
  } catch {
    // read-only install: every run compiles the bundle
    try {
      unlinkSync(temporary);
    } catch {
      // nothing was written
    }
  }
}
