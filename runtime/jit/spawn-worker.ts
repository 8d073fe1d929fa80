/**
 * Starts a worker thread running a sibling module, both from the built JavaScript (dist/…/x.js) and from the
 * TypeScript sources (vitest, tsx), where the worker first registers tsx's loader — Node 20 cannot run .ts files
 * and a worker does not inherit the parent's loader hooks.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** URL of module `name` (without extension) next to the module whose import.meta.url is `here`. */
export function siblingModule(here: string, name: string): URL {
  return new URL(`./${name}${here.endsWith(".ts") ? ".ts" : ".js"}`, here);
}

/**
 * `preload`: packages to import before tsx's loader is registered — from sources, tsx would transform them too
 * (binaryen's 15 MB bundle takes it over ten seconds); imported first, the module graph reuses them as they are.
 */
export function spawnModuleWorker(module: URL, options: WorkerOptions = {}, preload: readonly string[] = []): Worker {
  options = { execArgv: workerExecArgv(), ...options };
  if (!module.pathname.endsWith(".ts")) return new Worker(module, options);
  const tsxApi = tsxEsmApi();
  const require = createRequire(import.meta.url);
  const preloads = preload.map((name) => `await import(${JSON.stringify(pathToFileURL(require.resolve(name)).href)});`).join("\n");
  const bootstrap = `(async () => {
    ${preloads}
    const api = await import(${JSON.stringify(tsxApi)});
    (api.register ?? api.default.register)();
    await import(${JSON.stringify(module.href)});
  })();`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** file: URL of tsx's ESM register API (its `import` export; the CommonJS one cannot register from a worker). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const exports = (JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(join(dirname(manifest), exports["./esm/api"]!.import.default)).href;
}

/**
 * The parent's Node options minus those that name a program: a worker inherits execArgv, and under
 * `node -e CODE` (or -p, --input-type) it would run CODE instead of its module and never answer.
 */
export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const arg = parent[i]!;
    if (arg === "-e" || arg === "--eval" || arg === "-p" || arg === "--print") {
      i++; // and its code
      continue;
    }
    if (/^(--eval|--print|--input-type)=/.test(arg) || arg === "--input-type") {
      if (arg === "--input-type") i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
