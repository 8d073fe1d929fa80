/**
 * With the package's own pcap-filter compiler (compileFilter from the package root, running on the overlay VM):
 * `hostctl capture -r X -w Y EXPR` keeps byte-identical records to `tcpdump -r X -w Y EXPR`. Skipped, and
 * reported as skipped, until the package root exports compileFilter.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { registerCapture, type CompileFilter } from "../../hostctl/commands/capture.js";
import { CORPUS, REPO, requireTool } from "./helpers.js";

let compileFilter: CompileFilter | undefined;
try {
  compileFilter = ((await import(join(REPO, "index.ts"))) as { compileFilter?: CompileFilter }).compileFilter;
} catch {
  compileFilter = undefined;
}

const scratch = mkdtempSync(join(tmpdir(), "kopi-filter-identical-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const captures = [
  "ethernet/tcpdump/mptcp-v0.pcap",
  "ethernet/tcpdump/eapon1.pcap",
  "ethernet/tcpdump/various_gre.pcap",
  "ethernet/tcpdump/OSPFv2_Capture_FINAL.pcapng",
  "ethernet/packetnet/ipv6_ndp.pcap",
  "ethernet/filesamples/teardrop.pcap",
];
const expressions = [
  "tcp",
  "udp port 53 or arp",
  "ip6 and icmp6",
  "vlan and ip",
  "ip[6:2] & 0x1fff != 0",
  "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
  "not ip",
  "greater 200",
];

describe.skipIf(compileFilter === undefined)("capture -w with the overlay filter keeps tcpdump's records", () => {
  requireTool("tcpdump");
  for (const expression of expressions) {
    it(expression, async () => {
      for (const name of captures) {
        const input = join(CORPUS, name);
        const expected = spawnSync("tcpdump", ["-r", input, "-w", "-", "--", expression], { maxBuffer: 1 << 26 });
        expect(expected.status, expected.stderr.toString()).toBe(0);
        const outPath = join(scratch, "out.pcap");
        const fd = openSync(outPath, "w");
        let stderr = "";
        const program = new Command().exitOverride();
        registerCapture(program, { compileFilter, stdoutFd: fd, writeError: (text) => (stderr += text) });
        process.exitCode = undefined;
        await program.parseAsync(["capture", "-r", input, "-w", "-", "--", expression], { from: "user" });
        const status = process.exitCode ?? 0;
        process.exitCode = undefined;
        closeSync(fd);
        expect(status, stderr).toBe(0);
        expect(readFileSync(outPath).equals(expected.stdout), `${name}: records differ`).toBe(true);
      }
    });
  }
});
