/**
 * Finds and compiles build/overlay-vm.wasm once per process. The file is located by walking up from this
 * module to the package root (the directory whose package.json names "kopi"), so the same code works from
 * source under vitest (runtime/) and from dist/runtime/ after tsc.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VMError } from "./errors.js";

const PACKAGE_NAME = "kopi";
const WASM_RELATIVE = join("build", "overlay-vm.wasm");

let packageRoot: string | undefined;

export function findPackageRoot(): string {
  if (packageRoot !== undefined) return packageRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME) {
          packageRoot = dir;
          return dir;
        }
      } catch {
        // not our manifest (or unreadable): keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new VMError(`cannot find the ${PACKAGE_NAME} package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function wasmPath(): string {
  const path = join(findPackageRoot(), WASM_RELATIVE);
  if (!existsSync(path)) throw new VMError(`${path} is missing: build the VM with \`npm run build:wasm\``);
  return path;
}

let compiled: WebAssembly.Module | undefined;
let compiling: Promise<WebAssembly.Module> | undefined;

/** The compiled module, compiling it synchronously on first use. */
export function overlayModuleSync(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(wasmPath()));
  return compiled;
}

/** The compiled module, compiling it off the main thread on first use. */
export function overlayModule(): Promise<WebAssembly.Module> {
  if (compiled) return Promise.resolve(compiled);
  compiling ??= (async () => {
    const bytes = await readFile(wasmPath());
    const mod = await WebAssembly.compile(bytes);
    compiled ??= mod;
    return compiled;
  })();
  return compiling;
}
