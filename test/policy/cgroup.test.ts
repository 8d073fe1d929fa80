/**
 * `owner cgroup P` and iptables' `-m cgroup --path P` match the cgroup P and every cgroup below it, as Linux's
 * xt_cgroup does (cgroup_is_descendant) — on the interpreter and the JIT, with exact per-rule counters — and
 * `-m cgroup` survives an iptables-save round trip. The expectations come from a model of the kernel's rule
 * written here (paths compared name by name), not from compiler/policy/cgroup.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exportIptablesSave } from "../../compiler/iptables/export-save.js";
import { cgroupAtOrAbove, cgroupComponents, cgroupId, cgroupIdsUnder } from "../../compiler/policy/cgroup.js";
import { compilePolicy, type CompiledPolicy } from "../../compiler/policy/compile.js";
import { formatListing } from "../../compiler/policy/listing.js";
import { OwnerTable, parseHost, type HostDescription } from "../../compiler/policy/host.js";
import { loadIntoVm, replayPackets } from "../../hostctl/commands/replay.js";
import { SourceError } from "../../overlay-isa/index.js";
import { selectTier } from "../../runtime/jit/index.js";
import { OverlayVM } from "../../runtime/vm.js";
import { ipv4Frame, TCP } from "./packets.js";

/** The kernel's rule, written out: the names between slashes of P are a prefix of the socket's cgroup's. */
function kernelDescendant(cgroup: string, ancestor: string): boolean {
  const names = (p: string) => p.split("/").filter(Boolean);
  const c = names(cgroup);
  const a = names(ancestor);
  return a.length <= c.length && a.every((n, i) => c[i] === n);
}

const HOST = "10.0.0.2";
/** [local port, cgroup of the application listening there] */
const APPS: [number, string | undefined][] = [
  [1001, "/user.slice"],
  [1002, "/user.slice/user-1001.slice"],
  [1003, "/user.slice/user-1001.slice/game.scope"],
  [1004, "/user.slice/user-1002.slice/app.scope"],
  [1005, "/user.slicex/odd.scope"], // a name that only starts like user.slice: no descendant
  [1006, "/system.slice/postgresql.service"],
  [1007, undefined], // an application whose cgroup the host does not know
  [1008, "/user.slice//user-1001.slice/x.scope/"], // as the kernel resolves it: /user.slice/user-1001.slice/x.scope
];
const UNOWNED_PORT = 1009;

function hostJson(apps: [number, string | undefined][]): string {
  return JSON.stringify({
    addresses: [HOST],
    users: { u: 1000 },
    applications: apps.map(([port, cgroup], i) => ({ pid: 100 + i, cmd: `app${i}`, user: "u", ...(cgroup !== undefined ? { cgroup } : {}), listen: [{ proto: "tcp", port }] })),
  });
}

/** One egress packet from each application's port, and one from a port no application owns. */
function packets(ports: number[]) {
  return ports.map((sport, i) => ({ data: ipv4Frame({ src: HOST, dst: "10.0.0.9", proto: "tcp", sport, dport: 40000 + i, flags: TCP.ACK, payload: i }), wireLength: 0 }));
}

async function replay(compiled: CompiledPolicy, host: HostDescription, tier: "interpreter" | "jit", ports: number[]) {
  const vm = await OverlayVM.create();
  loadIntoVm(vm, compiled);
  const choice = selectTier(vm, tier);
  expect(choice.tier).toBe(tier);
  const list = packets(ports).map((p) => ({ ...p, wireLength: p.data.length }));
  return replayPackets(vm, compiled, list, { host, direction: "egress" });
}

const KOPI_RULES: { path: string; negate: boolean }[] = [
  { path: "/user.slice/user-1001.slice", negate: false },
  { path: "/user.slice", negate: false },
  { path: "/", negate: false },
  { path: "/system.slice", negate: true },
  { path: "/user.slice/user-1002.slice", negate: true },
];

describe("cgroup paths as the kernel resolves them", () => {
  it("compares names between slashes, skipping empty ones", () => {
    expect(cgroupComponents("/a//b/")).toEqual(["a", "b"]);
    expect(cgroupComponents("/")).toEqual([]);
    expect(cgroupAtOrAbove("/a", "/a/b/c")).toBe(true);
    expect(cgroupAtOrAbove("a/b", "/a/b")).toBe(true);
    expect(cgroupAtOrAbove("/a", "/ab")).toBe(false);
    expect(cgroupAtOrAbove("/a/b", "/a")).toBe(false);
    expect(cgroupAtOrAbove("/", "/x")).toBe(true);
  });

  it("gives an application the id of the deepest named path at or above its cgroup", () => {
    const interned = ["/a", "/a/b/c", "/a/b", "/x"];
    expect(cgroupId(interned, "/a/b/c/d")).toBe(2);
    expect(cgroupId(interned, "/a/b/z")).toBe(3);
    expect(cgroupId(interned, "/a/q")).toBe(1);
    expect(cgroupId(interned, "/a")).toBe(1);
    expect(cgroupId(interned, "/ab")).toBe(0);
    expect(cgroupId(interned, undefined)).toBe(0);
    // a match on /a accepts the ids of every named path below it, its own first
    expect(cgroupIdsUnder(interned, "/a", 1)).toEqual([1, 2, 3]);
    expect(cgroupIdsUnder(interned, "/a/b", 3)).toEqual([3, 2]);
    expect(cgroupIdsUnder(interned, "/x", 4)).toEqual([4]);
  });
});

describe("owner cgroup matches the cgroup and its descendants", () => {
  const host = parseHost(hostJson(APPS), "host.json");
  const ports = [...APPS.map(([p]) => p), UNOWNED_PORT];
  const cgroupOf = (port: number) => APPS.find(([p]) => p === port)?.[1];
  const owned = (port: number) => APPS.some(([p]) => p === port);

  const kopi = `table filter {
    chain egress {
      type filter hook egress; policy accept;
${KOPI_RULES.map((r) => `      owner ${r.negate ? "not " : ""}cgroup "${r.path}" counter`).join("\n")}
      owner cgroup "/user.slice/user-1001.slice/game.scope" drop
    }
  }`;
  const compiled = compilePolicy(kopi, "nested.kopi");

  /** a cgroup test never holds without an owner (a socket), negated or not, as the kernel's cgroup matches */
  const kopiMatches = (port: number, r: { path: string; negate: boolean }) => {
    if (!owned(port)) return false;
    const c = cgroupOf(port);
    return (c !== undefined && kernelDescendant(c, r.path)) !== r.negate;
  };

  for (const tier of ["interpreter", "jit"] as const) {
    it(`counts every rule exactly (${tier})`, async () => {
      const r = await replay(compiled, host, tier, ports);
      const expected = KOPI_RULES.map((rule) => ports.filter((p) => kopiMatches(p, rule)).length);
      const game = ports.filter((p) => owned(p) && cgroupOf(p) !== undefined && kernelDescendant(cgroupOf(p)!, "/user.slice/user-1001.slice/game.scope"));
      expect(r.counters.slice(0, KOPI_RULES.length).map((c) => Number(c.packets))).toEqual(expected);
      expect(Number(r.counters[KOPI_RULES.length]!.packets)).toBe(game.length);
      expect(Number(r.counters[KOPI_RULES.length + 1]!.packets)).toBe(ports.length - game.length); // the policy
      // the descendants of game.scope are dropped, nothing else
      const DROP = 0;
      expect([...r.verdicts].map((v, i) => (v === DROP ? ports[i] : 0)).filter(Boolean)).toEqual([1003]);
      // the sample has what the test is about: a parent path matching below it, a look-alike sibling, no cgroup
      expect(expected[0]).toBe(3); // 1002, 1003, 1008
      expect(expected[1]).toBe(5); // 1001 … 1004, 1008 (not 1005's /user.slicex)
    });
  }

  it("warns that a rule under a final rule's cgroup is shadowed", () => {
    const c = compilePolicy('table filter { chain egress { type filter hook egress; policy accept;\n owner cgroup "/user.slice" accept\n owner cgroup "/user.slice/user-1001.slice" drop\n } }', "s.kopi");
    expect(c.warnings.map((w) => w.message).join("\n")).toMatch(/shadow/);
    // and the other way round nothing is shadowed: the deeper rule matches fewer packets
    const d = compilePolicy('table filter { chain egress { type filter hook egress; policy accept;\n owner cgroup "/user.slice/user-1001.slice" drop\n owner cgroup "/user.slice" accept\n } }', "s.kopi");
    expect(d.warnings).toEqual([]);
  });

  it("leaves a policy whose paths do not nest compiled exactly as before (one id, one compare)", () => {
    const c = compilePolicy('table filter { chain egress { type filter hook egress; policy accept;\n owner cgroup "/a/x" accept\n owner cgroup "/a/y" drop\n } }', "flat.kopi");
    const tests = c.ir.chains[0]!.rules.map((r) => r.conds.find((x) => x.kind === "field" && x.field === "owner.cgroup"));
    expect(tests.map((t) => (t?.kind === "field" ? t.test : undefined))).toEqual([
      { kind: "eq", value: 1n },
      { kind: "eq", value: 2n },
    ]);
  });

  it("agrees with the kernel's rule for random trees of cgroups and rules (interpreter and JIT)", async () => {
    const name = fc.constantFrom("a", "b", "ab", "c");
    const path = fc.array(name, { minLength: 0, maxLength: 3 }).map((n) => "/" + n.join("/"));
    await fc.assert(
      fc.asyncProperty(fc.array(path, { minLength: 1, maxLength: 6 }), fc.array(fc.record({ path, negate: fc.boolean() }), { minLength: 1, maxLength: 6 }), async (appPaths, rules) => {
        const apps: [number, string | undefined][] = appPaths.map((p, i) => [2000 + i, p]);
        const h = parseHost(hostJson(apps), "h.json");
        const text = `table filter { chain egress { type filter hook egress; policy accept;\n${rules.map((r) => ` owner ${r.negate ? "not " : ""}cgroup "${r.path}" counter`).join("\n")}\n } }`;
        const c = compilePolicy(text, "p.kopi");
        const ps = apps.map(([p]) => p);
        for (const tier of ["interpreter", "jit"] as const) {
          const r = await replay(c, h, tier, ps);
          const want = rules.map((rule) => apps.filter(([, cg]) => kernelDescendant(cg!, rule.path) !== rule.negate).length);
          expect(r.counters.slice(0, rules.length).map((x) => Number(x.packets))).toEqual(want);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("gives the ids through the owner table the NIC fills", () => {
    const table = new OwnerTable(host, compiled.ir.strings);
    const id = (port: number) => table.ownerFields({ dir: 1, proto: 6, src: 0x0a000002n, dst: 0x0a000009n, sport: port, dport: 1 }).cgroup;
    const index = (p: string) => compiled.ir.strings.cgroup.indexOf(p) + 1;
    expect(id(1003)).toBe(index("/user.slice/user-1001.slice/game.scope"));
    expect(id(1008)).toBe(index("/user.slice/user-1001.slice")); // its x.scope is named by no rule
    expect(id(1004)).toBe(index("/user.slice/user-1002.slice"));
    expect(id(1001)).toBe(index("/user.slice"));
    expect(id(1005)).toBe(index("/")); // only the root is above /user.slicex
    expect(id(1007)).toBe(0);
  });
});

describe("iptables -m cgroup --path", () => {
  const lines = [
    "-A OUTPUT -m cgroup --path /user.slice/user-1001.slice",
    '-A OUTPUT -m cgroup --path "/user.slice"',
    "-A OUTPUT -m cgroup ! --path /system.slice",
    "-A OUTPUT -m cgroup --path /user.slice/user-1001.slice/game.scope -j DROP",
    "-A INPUT -p tcp -m cgroup --path /system.slice -m tcp --dport 5432 -j ACCEPT",
  ];
  const text = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...lines, "COMMIT", ""].join("\n");
  const compiled = compilePolicy(text, "cg.rules", { format: "iptables-save" });
  const host = parseHost(hostJson(APPS), "host.json");
  const ports = [...APPS.map(([p]) => p), UNOWNED_PORT];
  const cgroupOf = (port: number) => APPS.find(([p]) => p === port)?.[1];
  const owned = (port: number) => APPS.some(([p]) => p === port);

  /** xt_cgroup: no socket, no match — negated or not. */
  const xtCgroup = (port: number, path: string, invert: boolean) => owned(port) && (cgroupOf(port) !== undefined && kernelDescendant(cgroupOf(port)!, path)) !== invert;

  for (const tier of ["interpreter", "jit"] as const) {
    it(`matches as xt_cgroup does (${tier})`, async () => {
      const r = await replay(compiled, host, tier, ports);
      const out = compiled.ir.chains.find((c) => c.name === "OUTPUT")!;
      const counts = out.rules.map((rule) => Number(r.counters[rule.counter]!.packets));
      expect(counts).toEqual([
        ports.filter((p) => xtCgroup(p, "/user.slice/user-1001.slice", false)).length,
        ports.filter((p) => xtCgroup(p, "/user.slice", false)).length,
        ports.filter((p) => xtCgroup(p, "/system.slice", true)).length,
        ports.filter((p) => xtCgroup(p, "/user.slice/user-1001.slice/game.scope", false)).length,
      ]);
      // the unowned packet does not match `! --path` (kopi's `owner not cgroup` would take it)
      expect(counts[2]).toBe(APPS.length - 1);
    });
  }

  it("is allowed in INPUT (xt_cgroup runs at LOCAL_IN), refused in FORWARD and for net_cls classids", () => {
    const bad = (line: string) => {
      try {
        compilePolicy(["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":fw - [0:0]", "-A FORWARD -j fw", line, "COMMIT", ""].join("\n"), "bad.rules", { format: "iptables-save" });
      } catch (e) {
        if (e instanceof SourceError) return e.message;
        throw e;
      }
      return "";
    };
    expect(bad("-A fw -m cgroup --path /a -j DROP")).toBe("bad.rules:7:17: the cgroup match is only valid in INPUT and OUTPUT (chain 'fw' is reached from FORWARD, where a packet has no local socket)");
    expect(bad("-A OUTPUT -m cgroup --cgroup 0x100001 -j DROP")).toMatch(/^bad\.rules:7:21: --cgroup matches a net_cls classid/);
    expect(bad("-A OUTPUT --path /a -j DROP")).toBe("bad.rules:7:11: --path needs -m cgroup before it");
    expect(bad("-A OUTPUT -m cgroup --path /a --path /b -j DROP")).toMatch(/^bad\.rules:7:31: xt_cgroup takes one --path per match/);
  });

  it("lists the match as iptables -L does", () => {
    const listing = formatListing(compiled.ir, []);
    expect(listing).toMatch(/ cgroup \/user\.slice\/user-1001\.slice\n/);
    expect(listing).toMatch(/ cgroup ! \/system\.slice\n/);
  });

  it("round-trips through iptables-save: the same text, the same decisions and counters", async () => {
    const saved = exportIptablesSave(compiled.ir);
    expect(saved.skipped).toEqual([]);
    // xtables_save_string quotes a path (it holds '/'), as iptables-save prints it
    expect(saved.text).toContain('-A OUTPUT -m cgroup --path "/user.slice/user-1001.slice"\n');
    expect(saved.text).toContain('-A OUTPUT -m cgroup ! --path "/system.slice"\n');
    expect(saved.text).toContain('-A INPUT -p tcp -m cgroup --path "/system.slice" -m tcp --dport 5432 -j ACCEPT\n');
    const again = compilePolicy(saved.text, "again.rules", { format: "iptables-save" });
    expect(exportIptablesSave(again.ir).text.replace(/^# Generated.*\n/m, "")).toBe(saved.text.replace(/^# Generated.*\n/m, ""));
    const a = await replay(compiled, host, "interpreter", ports);
    const b = await replay(again, host, "jit", ports);
    expect([...b.verdicts]).toEqual([...a.verdicts]);
    expect(b.counters).toEqual(a.counters);
  });

  it("exports a .kopi cgroup match as iptables' (a negated one too: neither takes a packet without an owner)", () => {
    const c = compilePolicy('table filter { chain egress { type filter hook egress; policy accept;\n owner cgroup "/user.slice" accept\n owner not cgroup "/user.slice" drop\n owner user u cgroup "/a b" drop\n owner not user u not cgroup "/x" drop\n } }', "k.kopi", { host });
    const out = exportIptablesSave(c.ir);
    expect(out.skipped).toEqual([]);
    expect(out.text).toContain('-A OUTPUT -m cgroup --path "/user.slice" -j ACCEPT\n-A OUTPUT -m cgroup ! --path "/user.slice" -j DROP\n');
    expect(out.text).toContain('-A OUTPUT -m owner --uid-owner 1000 -m cgroup --path "/a b" -j DROP\n');
    expect(out.text).toContain('-A OUTPUT -m owner ! --uid-owner 1000 -m cgroup ! --path "/x" -j DROP\n');
    // the unowned packet: xt_owner's negation alone would take it, the cgroup term does not
    const vm = compilePolicy(out.text, "k.rules", { format: "iptables-save" });
    expect(vm.ir.chains.find((x) => x.name === "OUTPUT")!.rules[3]!.conds).toContainEqual(expect.objectContaining({ kind: "owner", needsOwner: true }));
  });
});
