import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const tsx = join(root, "node_modules", ".bin", "tsx");
const capture = join(root, "..", "shared", "corpus", "pcaps", "ethernet", "tcpdump", "mptcp-v0.pcap");

function hostctl(...args: string[]) {
  const r = spawnSync(tsx, [join(root, "hostctl", "cli.ts"), ...args], { encoding: "utf8", cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/^npm warn.*\n/gm, "") };
}

describe("--tier on capture and replay", () => {
  it("capture prints the same packets on the interpreter and the JIT", () => {
    const expr = "tcp port 22 and tcp[13] & 2 != 0";
    const interp = hostctl("capture", "--tier", "interpreter", "-nn", "-r", capture, expr);
    const jit = hostctl("capture", "--tier", "jit", "-nn", "-r", capture, expr);
    expect(interp.status).toBe(0);
    expect(interp.stdout.split("\n").filter(Boolean).length).toBeGreaterThan(0);
    expect(jit).toMatchObject({ status: 0, stdout: interp.stdout });
  });

  it("replay counts the same on both tiers", () => {
    const args = ["replay", "--policy", "examples/policies/port-partition.kopi", "--host", "examples/policies/port-partition.host.json", "-r", capture, "--json"];
    const interp = hostctl(...args, "--tier", "interpreter");
    const jit = hostctl(...args, "--tier", "jit");
    expect(interp.status).toBe(0);
    expect(JSON.parse(jit.stdout)).toEqual(JSON.parse(interp.stdout));
  });

  it("refuses an unknown tier in one line", () => {
    const r = hostctl("capture", "--tier", "fast", "-r", capture, "tcp");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--tier must be interpreter, jit or auto, got 'fast'");
    const p = hostctl("replay", "--tier", "fast", "--policy", "examples/policies/port-partition.kopi", "-r", capture);
    expect(p.status).toBe(2);
    expect(p.stderr.trim()).toBe("hostctl: --tier must be one of interpreter, jit, auto, got 'fast'");
  });
});
