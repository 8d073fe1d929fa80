/**
 * The one-file hostctl bundle (hostctl/bundle/) that dist/hostctl/cli.js runs: it must answer exactly as the
 * compiled modules do — same stdout, stderr, exit status and written files — and its loader must use the V8
 * code cache only for the build it was made for. Needs a build (`npm run build:ts`, which `npm test` runs).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dist = join(root, "dist", "hostctl");
const bundlePath = join(dist, "cli-bundle.cjs");
const scratch = mkdtempSync(join(tmpdir(), "kopi-bundle-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs dist/hostctl/main.js from its modules, as cli.js does when there is no bundle. */
const modulesRunner = join(scratch, "run-modules.mjs");

function run(command: string[], args: string[]): Outcome {
  const r = spawnSync(process.execPath, [...command, ...args], { encoding: "utf8", cwd: root, env: { ...process.env, TZ: "UTC" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const bundled = (...args: string[]) => run([join(dist, "cli.js")], args);
const modules = (...args: string[]) => run([modulesRunner], args);

beforeAll(() => {
  if (!existsSync(bundlePath)) throw new Error(`${bundlePath} is missing: run npm run build:ts`);
  writeFileSync(modulesRunner, `const { main } = await import(${JSON.stringify(pathToFileURL(join(dist, "main.js")).href)});\nprocess.exitCode = await main(process.argv.slice(2));\n`);
});

describe("the hostctl bundle answers as the modules do", () => {
  const capture = "examples/captures/test_stream.pcap";

  it.each([
    ["capture, printed", ["capture", "-nn", "-r", capture, "tcp or arp"]],
    ["capture, verbose hex", ["capture", "-vv", "-X", "-c", "3", "-r", capture]],
    ["capture, filter error with its caret", ["capture", "-r", capture, "tcp port"]],
    ["capture, missing file", ["capture", "-r", "no/such/file.pcap", "tcp"]],
    ["capture, bad option", ["capture", "--no-such-option"]],
    ["policy compile", ["compile", "examples/policies/port-partition.kopi"]],
    ["asm of a missing file", ["asm", "no/such/file.s"]],
    ["version", ["--version"]],
    ["help", ["--help"]],
    ["unknown command", ["frobnicate"]],
  ])("%s", (_name, args) => {
    const expected = modules(...args);
    expect(bundled(...args)).toEqual(expected);
  });

  it("writes the same files: capture -w (the fast path) and asm -o", () => {
    // the same paths for both (messages name them): each run overwrites the other's files
    const pcap = join(scratch, "out.pcap");
    const image = join(scratch, "out.kimg");
    const outputs = (runner: typeof bundled) => {
      rmSync(pcap, { force: true });
      rmSync(image, { force: true });
      const results = [runner("capture", "-r", capture, "-w", pcap, "tcp port 80 or arp"), runner("asm", "examples/filters/web.s", "-o", image)];
      return { results, pcap: readFileSync(pcap), image: readFileSync(image) };
    };
    const expected = outputs(modules);
    expect(expected.pcap.length).toBeGreaterThan(24);
    expect(outputs(bundled)).toEqual(expected);
  });

  it("reads a policy error's position and caret from the bundle as from the modules", () => {
    const bad = join(scratch, "bad.kopi");
    writeFileSync(bad, "table filter {\n  chain input {\n    tcp dport 22 acept\n  }\n}\n");
    const expected = modules("compile", bad);
    expect(expected.status).not.toBe(0);
    expect(expected.stderr).toMatch(/bad\.kopi:3:/);
    expect(bundled("compile", bad)).toEqual(expected);
  });

  it("starts the JIT tier's worker thread from the bundle", { timeout: 60_000 }, () => {
    const args = ["capture", "-nn", "--tier", "jit", "-r", capture, "tcp"];
    const expected = modules(...args);
    expect(expected.status).toBe(0);
    expect(bundled(...args)).toEqual(expected);
  });
});

describe("the bundle's contents", () => {
  const code = () => readFileSync(bundlePath, "utf8");

  it("gives every bundled module its own import.meta.url in dist/", () => {
    const text = code();
    expect(text).not.toMatch(/import\.meta/);
    const urls = [...text.matchAll(/new URL\("([^"]+)", __kopiBundleUrl\)/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(3);
    for (const relative of urls) expect(existsSync(join(dist, relative)), relative).toBe(true);
    expect(urls).toContain("../compiler/grammar-cache.js");
    expect(urls).toContain("../runtime/jit/compiler.js");
  });

  it("keeps class names (ohm and commander read constructor.name), also of classes emitted as `X = class _X`", () => {
    const text = code();
    const inner = [...text.matchAll(/= class _([A-Za-z$][\w$]*)/g)].map((m) => m[1]!);
    expect(inner).toContain("PExpr");
    for (const name of inner) expect(text, name).toContain(`__name(this, "${name}")`);
  });
});

describe("loadBundle", () => {
  /** A directory with a main.js and a bundle; `loadBundle` runs in a child process, which prints its result. */
  function fixture(body: string, header = "// kopi-bundle 0123456789abcdef\n"): string {
    const dir = mkdtempSync(join(scratch, "fixture-"));
    writeFileSync(join(dir, "main.js"), "");
    utimesSync(join(dir, "main.js"), new Date(2000, 0, 1), new Date(2000, 0, 1));
    writeFileSync(join(dir, "cli-bundle.cjs"), header + body);
    return dir;
  }

  function load(dir: string): { cache?: string; exports?: Record<string, unknown> } {
    const loader = pathToFileURL(join(dist, "bundle", "load-bundle.js")).href;
    const script = `const { loadBundle } = await import(${JSON.stringify(loader)});
      const r = loadBundle(${JSON.stringify(join(dir, "cli-bundle.cjs"))});
      process.stdout.write(JSON.stringify(r === undefined ? {} : { cache: r.cache, exports: r.exports }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout) as { cache?: string; exports?: Record<string, unknown> };
  }

  const cacheFile = (dir: string) => join(dir, "cli-bundle.cjs.0123456789abcdef.v8cache");

  it("runs the bundle as strict code with its exports and URL, and writes the code cache the first time", () => {
    const dir = fixture(
      "exports.answer = 6 * 7;\nexports.strict = (function () { return this === undefined; })();\nexports.url = __kopiBundleUrl;\nfunction later(x) { return x + 1; }\nexports.later = later(1);\n",
    );
    const first = load(dir);
    expect(first).toEqual({ cache: "absent", exports: { answer: 42, strict: true, url: pathToFileURL(join(dir, "cli-bundle.cjs")).href, later: 2 } });
    expect(existsSync(cacheFile(dir))).toBe(true);
    expect(load(dir).cache).toBe("used");
  });

  it("turns down a cache that is not V8's, and writes a good one", () => {
    const dir = fixture("exports.answer = 42;\n");
    writeFileSync(cacheFile(dir), "not a code cache");
    expect(load(dir)).toEqual({ cache: "rejected", exports: { answer: 42 } });
    expect(load(dir).cache).toBe("used");
  });

  it("names the cache after the build: another bundle never gets this one's cache", () => {
    const dir = fixture("exports.answer = 42;\n");
    load(dir);
    writeFileSync(join(dir, "cli-bundle.cjs"), "// kopi-bundle fedcba9876543210\nexports.answer = 43;\n");
    expect(load(dir)).toEqual({ cache: "absent", exports: { answer: 43 } });
  });

  it("is not used when main.js is newer than the bundle, or without its header", () => {
    const stale = fixture("exports.answer = 42;\n");
    utimesSync(join(stale, "main.js"), new Date(), new Date(Date.now() + 60_000));
    expect(load(stale)).toEqual({});
    expect(load(fixture("exports.answer = 42;\n", ""))).toEqual({});
  });

  it("uses the cache the build made for the real bundle", () => {
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { loadBundle } = await import(${JSON.stringify(pathToFileURL(join(dist, "bundle", "load-bundle.js")).href)});
         const r = loadBundle(${JSON.stringify(bundlePath)});
         process.stdout.write(r.cache + " " + typeof r.exports.main);`,
      ],
      { encoding: "utf8" },
    );
    expect(r.stdout).toBe("used function");
  });
});
