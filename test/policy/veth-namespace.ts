/**
 * The real Linux stack beside kopi, for the tests that compare with it (netfilter counters, conntrack states,
 * LOG lines): a network namespace reached over a veth pair, into which tcpreplay sends frames from the host
 * side. Needs root and the tools; `missing()` says why a test must be skipped instead.
 */
import { execFileSync, spawnSync } from "node:child_process";

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

export class VethNamespace {
  readonly ns: string;
  readonly hostIf: string;
  readonly nsIf: string;

  /** `tag`: two letters that keep this test's namespace and interface names apart from the others'. */
  constructor(tag: string) {
    this.ns = `kopi-${tag}-${process.pid}`;
    this.hostIf = `${tag}${process.pid % 100000}a`;
    this.nsIf = `${tag}${process.pid % 100000}b`;
  }

  /** Why the namespace cannot be set up here (not root, a tool missing, no namespaces), or undefined. */
  missing(tools: readonly string[] = ["ip", "iptables-restore", "iptables-save", "tcpreplay"]): string | undefined {
    if (process.getuid?.() !== 0) return "not root (ip netns and iptables need root)";
    for (const tool of tools) if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
    const probe = spawnSync("ip", ["netns", "add", `${this.ns}-probe`]);
    if (probe.status !== 0) return `cannot create a network namespace: ${probe.stderr.toString().trim()}`;
    spawnSync("ip", ["netns", "del", `${this.ns}-probe`]);
    return undefined;
  }

  /** Run a command inside the namespace; its stdout. */
  run(cmd: string, args: string[], input?: string): string {
    return sh("ip", ["netns", "exec", this.ns, cmd, ...args], input);
  }

  /**
   * Create the namespace and the veth pair, give the inner end `addresses` (CIDR), and turn reverse-path
   * filtering off (the replayed frames come from addresses the namespace has no route back to). Returns the
   * inner end's MAC address, which frames must be sent to.
   */
  up(addresses: readonly string[]): string {
    spawnSync("ip", ["netns", "del", this.ns]);
    sh("ip", ["netns", "add", this.ns]);
    sh("ip", ["link", "add", this.hostIf, "type", "veth", "peer", "name", this.nsIf]);
    sh("ip", ["link", "set", this.nsIf, "netns", this.ns]);
    sh("ip", ["link", "set", this.hostIf, "up"]);
    this.run("ip", ["link", "set", "lo", "up"]);
    this.run("ip", ["link", "set", this.nsIf, "up"]);
    for (const a of addresses) this.run("ip", ["addr", "add", a, "dev", this.nsIf]);
    for (const k of ["all", "default", this.nsIf]) this.run("sysctl", ["-qw", `net.ipv4.conf.${k}.rp_filter=0`]);
    return this.run("cat", [`/sys/class/net/${this.nsIf}/address`]).trim();
  }

  down(): void {
    spawnSync("ip", ["link", "del", this.hostIf]);
    spawnSync("ip", ["netns", "del", this.ns]);
  }
}
