/**
 * Differential test of TCP tracking against the real kernel: each hand-written conversation (tcp-scenarios.ts)
 * is sent one segment at a time into a fresh network namespace over a veth pair (tcpreplay), where mangle
 * PREROUTING counts `-m conntrack --ctstate` NEW / ESTABLISHED / RELATED / INVALID; the counter that moved is
 * the kernel's ct state of that segment, which must equal both the scenario's annotation and kopi's.
 *
 * Needs root, `ip`, `iptables-restore`, `iptables-save` and `tcpreplay`; elsewhere it is skipped with the reason
 * printed. The server's address is local to the namespace, so the client's segments are delivered (conntrack
 * confirms a flow only then); the client's is unroutable there, so the namespace's TCP stack never answers, and
 * the server's segments (looked up in PREROUTING) are dropped by routing afterwards.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, parseIPv4 } from "../../overlay-isa/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { CT } from "./conntrack-reference.js";
import { ipv4Frame, writePcap } from "./packets.js";
import fc from "fast-check";
import { sh, VethNamespace } from "./veth-namespace.js";
import { conversationSpec, SCENARIOS, SERVER, segmentSpec, tcpConversationArb, type CtName } from "./tcp-scenarios.js";

const STATES: CtName[] = ["new", "established", "related", "invalid"];

const net = new VethNamespace("kc");
const reason = net.missing();
if (reason) console.log(`conntrack kernel differential test skipped: ${reason}`);
const inNs = (cmd: string, args: string[], input?: string) => net.run(cmd, args, input);

const RULES = ["*mangle", ":PREROUTING ACCEPT [0:0]", ...STATES.map((s) => `-A PREROUTING -m conntrack --ctstate ${s.toUpperCase()}`), "COMMIT", ""].join("\n");
// ct.state into the mark; the server's segments are dropped, as routing drops them in the namespace (so, as
// there, a first segment from the server opens no flow)
const PROGRAM = assemble(`.kind policy
  ldf r1, ct.state
  stf meta.mark, r1
  ldf r2, ip.src
  jeq r2, ${parseIPv4(SERVER)}, D
  exit accept
D:
  exit drop
`).image;
const NAMES: Record<number, CtName> = { [CT.invalid]: "invalid", [CT.established]: "established", [CT.related]: "related", [CT.new]: "new" };

function counters(): number[] {
  const text = inNs("iptables-save", ["-c", "-t", "mangle"]);
  return [...text.matchAll(/^\[(\d+):\d+\] -A PREROUTING/gm)].map((m) => Number(m[1]));
}

describe.skipIf(reason !== undefined)("TCP ct state equals the kernel's", () => {
  let dir: string;
  let nsMac: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kopi-ct-"));
    nsMac = net.up(["10.99.0.2/16", `${SERVER}/32`]);
    inNs("iptables-restore", [], RULES);
  });

  afterAll(() => {
    net.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Send the frames one at a time; the kernel's ct state of each and when it was sent (µs since the first). */
  function kernelStates(frames: Uint8Array[], tag: string): { states: CtName[]; timesUs: Float64Array } {
    const start = performance.now();
    const timesUs = new Float64Array(frames.length);
    const states = frames.map((f, i) => {
      const before = counters();
      const pcap = join(dir, `${tag}-${i}.pcap`);
      writePcap(pcap, [f]);
      timesUs[i] = Math.round((performance.now() - start) * 1000);
      sh("tcpreplay", ["-q", "-i", net.hostIf, pcap]);
      let after = counters();
      for (let tries = 0; tries < 100 && after.every((c, k) => c === before[k]); tries++) {
        spawnSync("sleep", ["0.02"]);
        after = counters();
      }
      const moved = after.findIndex((c, k) => c !== before[k]);
      return moved < 0 ? ("untracked?" as CtName) : STATES[moved]!;
    });
    return { states, timesUs };
  }

  function kopiStates(vm: OverlayVM, frames: Uint8Array[], timesUs: Float64Array): CtName[] {
    vm.load(PROGRAM);
    return [...vm.run(frames, { timesUs }).marks].map((m) => NAMES[m]!);
  }

  it("every segment of every hand-written scenario", () => {
    const vm = OverlayVM.createSync();
    SCENARIOS.forEach((sc, n) => {
      const frames = sc.segments.map((g) => ipv4Frame({ ...segmentSpec(n, g), dstMac: nsMac }));
      const linux = kernelStates(frames, `s${n}`);
      const label = (states: CtName[]) => states.map((st, i) => `${sc.segments[i]!.why}: ${st}`);
      expect(label(kopiStates(vm, frames, linux.timesUs)), `${sc.name}: kopi vs Linux`).toEqual(label(linux.states));
      expect(label(linux.states), `${sc.name}: annotations vs Linux`).toEqual(label(sc.segments.map((g) => g.want)));
    });
  });

  it("every segment of generated conversations", () => {
    const vm = OverlayVM.createSync();
    const seed = Number(process.env.KOPI_CT_SEED ?? 7);
    const segs = fc.sample(tcpConversationArb(4, 100, 100), { numRuns: 1, seed })[0]!;
    const frames = segs.map((c) => ipv4Frame({ ...conversationSpec(c), dstMac: nsMac }));
    const linux = kernelStates(frames, "conv");
    const label = (states: CtName[]) => states.map((st, i) => {
      const g = segs[i]!.segment;
      return `#${i} conn ${segs[i]!.conn}${segs[i]!.reply ? " reply" : ""} flags ${g.flags.toString(16)} seq ${g.seq} ack ${g.ack} len ${g.len} win ${g.win}${g.wscale !== undefined ? ` ws ${g.wscale}` : ""}: ${st}`;
    });
    expect(label(kopiStates(vm, frames, linux.timesUs)), `seed ${seed}`).toEqual(label(linux.states));
    // the conversation exercised the decisions, so equality is not between trivial answers
    expect(linux.states.filter((s) => s === "invalid").length).toBeGreaterThan(10);
    expect(linux.states.filter((s) => s === "established").length).toBeGreaterThan(10);
  });
});
