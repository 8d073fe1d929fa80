import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { workerExecArgv } from "../../runtime/jit/spawn-worker.js";

const root = new URL("../..", import.meta.url).pathname;

describe("JIT workers started from `node -e` code", () => {
  it("do not inherit the options that name the parent's program", () => {
    expect(workerExecArgv(["--input-type=module", "-e", "code", "--no-liftoff"])).toEqual(["--no-liftoff"]);
    expect(workerExecArgv(["-p", "1+1", "--max-old-space-size=4096"])).toEqual(["--max-old-space-size=4096"]);
    expect(workerExecArgv(["--eval", "x", "--input-type", "module", "--import", "tsx"])).toEqual(["--import", "tsx"]);
  });

  // the built package, as a user's script imports it (npm test builds dist/ first, in pretest)
  it("compile a JIT filter when the built library is used from node --input-type=module -e", () => {
    const code = `const { compileFilter } = await import(${JSON.stringify(join(root, "dist", "index.js"))});
      const f = compileFilter("tcp port 80", { tier: "jit" });
      const frame = new Uint8Array(54); const v = new DataView(frame.buffer);
      v.setUint16(12, 0x0800); v.setUint8(14, 0x45); v.setUint16(16, 40); v.setUint8(23, 6); v.setUint16(36, 80); v.setUint8(46, 0x50);
      console.log(f.tier, f.matches(frame));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", cwd: root, timeout: 60_000 });
    expect(r.stderr).not.toMatch(/did not answer/);
    expect(r.stdout.trim()).toBe("jit true");
  });
});
