/**
 * Differential test against real Linux netfilter: generated iptables-save rulesets are loaded with
 * iptables-restore into a fresh network namespace, generated IPv4 traffic is sent into it over a veth pair with
 * tcpreplay, and `iptables-save -c` is read back. The same ruleset and capture are replayed through kopi; every
 * rule's and policy's packet and byte counters must be equal.
 *
 * Needs root, `ip`, `iptables-restore`, `iptables-save` and `tcpreplay`; elsewhere it is skipped with the reason
 * printed. The packets come from sources the namespace has no route back to, so the kernel's replies (RSTs,
 * ICMP errors) never reach OUTPUT; only INPUT and user chains carry rules.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy } from "../../compiler/policy/compile.js";
import { loadIntoVm, replayPackets } from "../../hostctl/commands/replay.js";
import { OverlayVM } from "../../runtime/vm.js";
import { ipv4Frame, TCP, writePcap, type PacketSpec } from "./packets.js";
import { sh, VethNamespace } from "./veth-namespace.js";

const NS_ADDR = "10.99.0.2";
const net = new VethNamespace("kd");
const reason = net.missing();
if (reason) console.log(`netfilter differential test skipped: ${reason}`);
const inNs = (cmd: string, args: string[], input?: string) => net.run(cmd, args, input);

// ---- generators ----------------------------------------------------------------------------------------------

const SOURCES = ["10.1.0.5", "10.1.2.3", "10.2.0.9", "172.16.4.4", "172.20.1.1", "192.168.1.10", "192.168.7.7", "198.51.100.20", "203.0.113.5"];
const SRC_PREFIXES = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "172.16.0.0/12", "192.168.0.0/16", "192.168.1.0/24", "198.51.100.0/24", ...SOURCES.map((s) => `${s}/32`)];
const PORTS = [22, 25, 53, 80, 123, 443, 1000, 1001, 1002, 5432, 8080];
const SRC_MAC = "02:00:00:00:00:01";
const OTHER_MAC = "02:00:00:00:00:99";

const neg = fc.constantFrom("", "", "", "! ");
const portSpec = fc.oneof(fc.constantFrom(...PORTS).map(String), fc.constantFrom("1000:1002", "0:1023", "5000:9000", "1024:"));
const tcpUdpMatch = fc.tuple(fc.constantFrom("tcp", "udp"), fc.option(fc.tuple(neg, portSpec)), fc.option(fc.tuple(neg, portSpec)), fc.option(fc.subarray(PORTS, { minLength: 2, maxLength: 6 }))).map(([p, sp, dp, multi]) => {
  const parts = [`-p ${p}`];
  if (sp || dp) parts.push(`-m ${p}`);
  if (sp) parts.push(`${sp[0]}--sport ${sp[1]}`);
  if (dp) parts.push(`${dp[0]}--dport ${dp[1]}`);
  if (multi && !dp) parts.push(`-m multiport --dports ${multi.join(",")}`);
  return parts.join(" ");
});
const tcpFlags = fc.constantFrom("-p tcp -m tcp --syn", "-p tcp -m tcp ! --syn", "-p tcp -m tcp --tcp-flags SYN,ACK ACK", "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN");
const icmp = fc.constantFrom("-p icmp", "-p icmp -m icmp --icmp-type 8", "-p icmp -m icmp --icmp-type 0", "-p icmp -m icmp ! --icmp-type 8", "-p udp", "! -p tcp");
const source = fc.tuple(neg, fc.constantFrom(...SRC_PREFIXES)).map(([n, s]) => `${n}-s ${s}`);
const extra = fc.constantFrom(
  "-m length --length 0:100",
  "-m length ! --length 0:100",
  "-m ttl --ttl-lt 10",
  "-m ttl --ttl-eq 64",
  "-m iprange --src-range 10.1.0.0-10.1.255.255",
  `-m mac --mac-source ${SRC_MAC}`,
  `-m mac ! --mac-source ${OTHER_MAC}`,
  "-m mark --mark 0x7",
  `-d ${NS_ADDR}/32`,
);
const matches = fc.tuple(fc.option(source), fc.option(fc.oneof(tcpUdpMatch, tcpFlags, icmp)), fc.option(extra)).map((ms) => ms.filter((m) => m !== null).join(" "));
const inputTarget = fc.constantFrom("-j ACCEPT", "-j DROP", "-j sub", "-g sub", "-j MARK --set-xmark 0x7/0xffffffff", "", "-j REJECT --reject-with icmp-port-unreachable", "-j REJECT --reject-with tcp-reset");
const subTarget = fc.constantFrom("-j ACCEPT", "-j DROP", "-j RETURN", "");

/** A ruleset and its text; REJECT tcp-reset only on TCP rules, as iptables requires. */
const ruleset = fc
  .tuple(fc.array(fc.tuple(matches, inputTarget), { minLength: 1, maxLength: 14 }), fc.array(fc.tuple(matches, subTarget), { maxLength: 5 }), fc.constantFrom("ACCEPT", "DROP"))
  .map(([input, sub, policy]) => {
    const line = (chain: string, [m, t]: [string, string]) => {
      let target = t;
      if (target.includes("tcp-reset") && !/-p tcp(?! -m tcp ! )/.test(m)) target = "-j DROP";
      if (target.includes("tcp-reset") && m.includes("! -p tcp")) target = "-j DROP";
      return `-A ${chain}${m ? " " + m : ""}${target ? " " + target : ""}`;
    };
    return ["*filter", `:INPUT ${policy} [0:0]`, ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":sub - [0:0]", ...input.map((r) => line("INPUT", r)), ...sub.map((r) => line("sub", r)), "COMMIT", ""].join("\n");
  });

const packetSpec: fc.Arbitrary<PacketSpec> = fc.record({
  src: fc.constantFrom(...SOURCES),
  dst: fc.constant(NS_ADDR),
  proto: fc.constantFrom("tcp", "tcp", "udp", "icmp") as fc.Arbitrary<"tcp" | "udp" | "icmp">,
  sport: fc.constantFrom(...PORTS, 40000, 50123),
  dport: fc.constantFrom(...PORTS, 9999),
  flags: fc.constantFrom(TCP.SYN, TCP.ACK, TCP.SYN | TCP.ACK, TCP.ACK | TCP.PSH, TCP.FIN | TCP.ACK),
  seq: fc.integer({ min: 1, max: 0x7fffffff }),
  icmpType: fc.constantFrom(0, 8, 13),
  ttl: fc.constantFrom(1, 5, 64, 128),
  payload: fc.constantFrom(0, 0, 20, 100, 600),
  srcMac: fc.constantFrom(SRC_MAC, SRC_MAC, OTHER_MAC),
  id: fc.integer({ min: 1, max: 65535 }),
});

// ---- the test ------------------------------------------------------------------------------------------------

interface SavedCounters {
  policy: Map<string, [bigint, bigint]>;
  rules: Map<string, [bigint, bigint][]>;
}

function parseSaveCounters(text: string): SavedCounters {
  const policy = new Map<string, [bigint, bigint]>();
  const rules = new Map<string, [bigint, bigint][]>();
  for (const line of text.split("\n")) {
    const p = /^:(\S+) \S+ \[(\d+):(\d+)\]/.exec(line);
    if (p) policy.set(p[1]!, [BigInt(p[2]!), BigInt(p[3]!)]);
    const r = /^\[(\d+):(\d+)\] -A (\S+)/.exec(line);
    if (r) {
      const list = rules.get(r[3]!) ?? [];
      list.push([BigInt(r[1]!), BigInt(r[2]!)]);
      rules.set(r[3]!, list);
    }
  }
  return { policy, rules };
}

describe.skipIf(reason !== undefined)("kopi counters equal Linux netfilter's", () => {
  let dir: string;
  let nsMac: string;
  let vm: OverlayVM;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kopi-nf-"));
    nsMac = net.up([`${NS_ADDR}/16`]);
    vm = await OverlayVM.create();
  });

  afterAll(() => {
    net.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("generated rulesets × generated IPv4 traffic: every counter equal", () => {
    const cases = fc.sample(fc.tuple(ruleset, fc.array(packetSpec, { minLength: 60, maxLength: 120 })), { numRuns: 12, seed: Number(process.env.KOPI_NF_SEED ?? 4242) });
    let comparedRules = 0;
    let matchedPackets = 0n;
    cases.forEach(([rules, specs], n) => {
      const frames = specs.map((s) => ipv4Frame({ ...s, dstMac: nsMac }));
      const pcap = join(dir, `case${n}.pcap`);
      writePcap(pcap, frames);
      writeFileSync(join(dir, `case${n}.rules`), rules);
      // Linux
      inNs("iptables-restore", [], rules);
      sh("tcpreplay", ["-q", "-i", net.hostIf, "--topspeed", pcap]);
      let saved = parseSaveCounters(inNs("iptables-save", ["-c", "-t", "filter"]));
      // wait until every packet has gone through INPUT (the veth queue drains asynchronously)
      const total = (s: SavedCounters) => s.policy.get("INPUT")![0] + (s.rules.get("INPUT") ?? []).reduce((a, [p]) => a + p, 0n);
      for (let tries = 0; tries < 50 && total(saved) < BigInt(frames.length); tries++) {
        spawnSync("sleep", ["0.05"]);
        saved = parseSaveCounters(inNs("iptables-save", ["-c", "-t", "filter"]));
      }
      // kopi
      const compiled = compilePolicy(rules, `case${n}.rules`, { format: "iptables-save" });
      loadIntoVm(vm, compiled);
      const result = replayPackets(vm, compiled, frames.map((f) => ({ data: f, wireLength: f.length })), { direction: "ingress" });
      const context = `case ${n} (files in ${dir}):\n${rules}`;
      for (const chain of compiled.ir.chains) {
        if (chain.name === "INPUT") {
          const pc = result.counters[chain.policyCounter!]!;
          expect([pc.packets, pc.bytes], `${context}\npolicy of INPUT`).toEqual(saved.policy.get("INPUT"));
        }
        const linux = saved.rules.get(chain.name) ?? [];
        expect(linux.length, `${context}\nrules of ${chain.name}`).toBe(chain.rules.length);
        chain.rules.forEach((r, i) => {
          const k = result.counters[r.counter]!;
          expect([k.packets, k.bytes], `${context}\nrule ${r.number} of ${chain.name}: -A ${chain.name} ${r.text}`).toEqual(linux[i]);
          comparedRules++;
          matchedPackets += k.packets;
        });
      }
      inNs("iptables", ["-F"]);
      inNs("iptables", ["-X"]);
    });
    // the traffic exercised the rules, so equality is not between empty counters
    expect(comparedRules).toBeGreaterThan(40);
    expect(matchedPackets).toBeGreaterThan(100n);
    rmSync(dir, { recursive: true, force: true });
  });
});
