/**
 * Bundles the hostctl program (dist/hostctl/main.js, as tsc compiled it) and everything it imports into one
 * file beside it, dist/hostctl/cli-bundle.cjs, which dist/hostctl/cli.js runs (load-bundle.ts says why). Run
 * by `npm run build:ts` after tsc: `node dist/hostctl/bundle/build-bundle.js`.
 *
 * The bundle is CommonJS because only a classic script can use a V8 code cache on Node 20. It must behave as
 * the modules do, so:
 *  - each module keeps its own import.meta.url (its place in dist/), which the grammar cache, the VM's Wasm
 *    file and the worker threads are found by: rebuilt from the bundle's URL;
 *  - class and function names stay as written (keepNames): ohm (recipes, messages) and commander (error
 *    names) read constructor.name, and esbuild emits some classes as `var X = class _X`;
 *  - nothing is left to load at run time but Node built-ins: any other require or import() fails the build
 *    (the JIT's worker threads still load their own modules from dist/, binaryen among them).
 * Afterwards the code cache is made by one `capture -w` of a small capture, the path whose start-up matters
 * most (later commands add nothing to it; a cache V8 rejects is rewritten by the next run).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { isBuiltin } from "node:module";
import { build, type Plugin } from "esbuild";
import { BUNDLE_FILE, BUNDLED_ENTRY, cachePathFor } from "./load-bundle.js";

const hostctlDir = fileURLToPath(new URL("../", import.meta.url));
const distDir = fileURLToPath(new URL("../../", import.meta.url));
const bundlePath = join(hostctlDir, BUNDLE_FILE);

/**
 * Never bundled: binaryen (15 MB) is for the JIT's worker threads, which run their own unbundled modules. The
 * bundle itself must not load it (checkSelfContained).
 */
const NOT_BUNDLED = ["binaryen"];

/** import.meta.url of a module under dist/, as an expression over the bundle's own URL. */
const moduleUrlPlugin: Plugin = {
  name: "module-url",
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(distDir)) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta")) return undefined;
      const fromBundle = relative(hostctlDir, args.path).split(sep).join("/");
      const contents = text.replace(/\bimport\.meta\.url\b/g, `new URL(${JSON.stringify(fromBundle)}, __kopiBundleUrl).href`);
      if (contents.includes("import.meta")) throw new Error(`${args.path}: only import.meta.url can be bundled`);
      return { contents, loader: "js" };
    });
  },
};

/** Fail on anything the bundle would still have to load from a file at run time (esbuild's metafile lists it). */
function checkSelfContained(imports: readonly { path: string; kind: string; external?: boolean }[]): void {
  for (const imported of imports) {
    if (!isBuiltin(imported.path)) throw new Error(`the bundle still loads ${imported.path} (${imported.kind})`);
    if (imported.kind === "dynamic-import") throw new Error(`the bundle still contains import(${JSON.stringify(imported.path)})`);
  }
}

function removeStaleCaches(hash: string): void {
  const keep = basename(cachePathFor(bundlePath, hash));
  const prefix = `${BUNDLE_FILE}.`;
  for (const name of readdirSync(hostctlDir)) {
    if (name.startsWith(prefix) && name !== keep && (name.endsWith(".v8cache") || name.endsWith(".tmp"))) unlinkSync(join(hostctlDir, name));
  }
}

/** A one-packet classic pcap: enough for `capture -w` to compile a filter and run the fast path once. */
function tinyCapture(path: string): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const frame = Buffer.alloc(60);
  frame.writeUInt16BE(0x0800, 12);
  const record = Buffer.alloc(16);
  record.writeUInt32LE(frame.length, 8);
  record.writeUInt32LE(frame.length, 12);
  writeFileSync(path, Buffer.concat([header, record, frame]));
}

/** Run the bundled CLI once so that it writes its code cache. */
function warmCodeCache(): void {
  const dir = mkdtempSync(join(tmpdir(), "kopi-bundle-"));
  try {
    const input = join(dir, "one.pcap");
    tinyCapture(input);
    const cli = join(hostctlDir, "cli.js");
    const run = spawnSync(process.execPath, [cli, "capture", "-r", input, "-w", join(dir, "out.pcap"), "--", "tcp port 80 or udp port 53"], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`the bundled hostctl failed (${run.status}): ${run.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const result = await build({
    entryPoints: [join(hostctlDir, BUNDLED_ENTRY)],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    keepNames: true,
    external: NOT_BUNDLED,
    plugins: [moduleUrlPlugin],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  if (result.warnings.length > 0) throw new Error(`esbuild: ${result.warnings.map((w) => w.text).join("; ")}`);
  const code = result.outputFiles[0]!.text;
  checkSelfContained(Object.values(result.metafile.outputs)[0]!.imports);
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  writeFileSync(bundlePath, `// kopi-bundle ${hash}\n${code}`);
  removeStaleCaches(hash);
  warmCodeCache();
  process.stdout.write(`${relative(process.cwd(), bundlePath)}: ${(code.length / 1024).toFixed(0)} KiB, code cache ${(readFileSync(cachePathFor(bundlePath, hash)).length / 1024).toFixed(0)} KiB\n`);
}

await main();
