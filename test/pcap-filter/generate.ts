/**
 * Random pcap-filter expressions for differential testing: mostly well-formed, built from every kind of
 * primitive (hosts, nets, ports, protocols, vlan/mpls/pppoes, arithmetic relations with loads) combined with
 * and/or/not/parentheses and bare-address qualifier inheritance, with values that occur in the corpus.
 */

/** A small deterministic generator (an LCG), so a seed reproduces a run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const IPS = ["10.0.0.1", "10.0.0.2", "192.168.1.1", "131.151.32.21", "127.0.0.1", "10.1.1.2", "10.2.1.2", "224.0.0.13", "172.16.0.1", "8.8.8.8", "169.254.67.194", "192.168.0.0"];
const NETS = ["10.0.0.0/8", "192.168.0.0/16", "131.151.0.0/16", "224.0.0.0/4", "169.254.0.0/16", "10", "192.168", "127.0.0.0/8", "0.0.0.0/0", "10.0.0.0 mask 255.0.0.0"];
const IP6_HOSTS = ["::1", "fe80::1", "ff02::16", "10::2", "::", "2001:db8::1"];
const IP6_NETS = ["fe80::/10", "ff00::/8"];
const MACS = ["ff:ff:ff:ff:ff:ff", "00:1f:29:da:2d:79", "00:04:23:57:a5:7a", "01:00:0c:cc:cc:cd", "00:00:00:00:00:00", "00:e0:f9:cc:18:00"];
const PORTS = ["53", "80", "22", "443", "123", "5060", "67", "68", "0", "65535", "domain", "http", "ntp", "bootps", "2905", "6633", "7021"];
const PROTOCOLS = ["ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "igmp", "sctp"];
const LOAD_PROTOCOLS = ["ether", "ip", "ip6", "tcp", "udp", "icmp", "arp", "icmp6", "link", "sctp", "igmp", "vrrp", "rarp"];
const RELOPS = [">", "<", "=", ">=", "<=", "!="];
const ARITH_OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "&", "&", "+"];

/** An expression generator drawing from `r`. */
export function makeGen(r: () => number): () => string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const int = (n: number) => Math.floor(r() * n);
  const num = () => pick(["0", "1", "2", "4", "6", "13", "14", "17", "20", "0xff", "0x10", "255", "1500", "0x800", "64", "3", "12", "40", String(int(300))]);
  const dir = () => pick(["", "", "src ", "dst ", "src or dst ", "src and dst "]);
  const arith = (depth: number): string => {
    const c = r();
    if (depth > 2 || c < 0.35) return pick([num(), num(), "len", "tcpflags", "icmptype", "tcp-syn", "tcp-ack"]);
    if (c < 0.65) return `${pick(LOAD_PROTOCOLS)}[${arith(depth + 1)}${pick(["", "", ":1", ":2", ":4"])}]`;
    if (c < 0.9) return `${arith(depth + 1)} ${pick(ARITH_OPS)} ${arith(depth + 1)}`;
    if (c < 0.95) return `-${arith(depth + 1)}`;
    return `(${arith(depth + 1)})`;
  };
  const primitive = (): string => {
    switch (int(28)) {
      case 0:
        return `${pick(["", "ip ", "arp ", "rarp "])}${dir()}host ${pick(IPS)}`;
      case 1:
        return `${dir()}net ${pick(NETS)}`;
      case 2:
        return `${pick(["", "tcp ", "udp ", "sctp "])}${dir()}port ${pick(PORTS)}`;
      case 3:
        return `${pick(["", "tcp ", "udp "])}${dir()}portrange ${int(1000)}-${int(70000)}`;
      case 4:
        return `ether ${pick(["", "src ", "dst ", "host "])}${pick(MACS)}`;
      case 5:
        return pick(PROTOCOLS);
      case 6:
        return `${pick(["ip ", "ip6 ", ""])}proto ${pick(["6", "17", "1", "58", "0", "43", "44", "132", "2", "\\tcp", "\\udp", "\\icmp"])}`;
      case 7:
        return `${pick(["ip ", "ip6 ", ""])}protochain ${pick(["6", "17", "58", "44", "51", "0"])}`;
      case 8:
        return pick(["vlan", `vlan ${pick(["100", "30", "1", "1213", "5"])}`]);
      case 9:
        return pick(["mpls", `mpls ${int(1 << 20)}`]);
      case 10:
        return pick(["pppoes", "pppoed", `pppoes ${int(5)}`]);
      case 11:
        return `${pick(["less", "greater"])} ${int(1600)}`;
      case 12:
        return `len ${pick(RELOPS)} ${int(1600)}`;
      case 13:
        return pick(["broadcast", "multicast", "ip multicast", "ip6 multicast", "ether broadcast", "ether multicast", "ip broadcast"]);
      case 14:
        return pick(["llc", "stp", "ipx", "iso", "decnet", "carp", "vrrp", "isis", "llc u", "llc i", "atalk", "aarp", "netbeui"]);
      case 15:
      case 16:
      case 17:
      case 18:
        return `${arith(0)} ${pick(RELOPS)} ${arith(0)}`;
      case 19:
        return `ether proto ${pick(["\\ip", "\\arp", "\\ip6", "0x0800", "0x8100", "0x88cc", "\\rarp"])}`;
      case 20:
        return `${pick(["ip6 ", ""])}${dir()}host ${pick(IP6_HOSTS)}`;
      case 21:
        return `${pick(["ip6 ", ""])}${dir()}net ${pick(IP6_NETS)}`;
      case 22:
        return pick(["tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) = (tcp-syn|tcp-ack)", "icmp[icmptype] = icmp-echo", "icmp6[icmp6type] = icmp6-echo", "ip[6:2] & 0x1fff = 0"]);
      case 23:
        return pick(["geneve", "geneve 0", "pppoes and ip", "vlan and vlan", "mpls and mpls 16"]);
      case 24:
        return `host ${pick(IPS)} or ${pick(IPS)}`;
      case 25:
        return `port ${pick(PORTS)} or ${pick(PORTS)} and ${pick(PORTS)}`;
      case 26:
        return `${pick(["", "ip "])}dst ${pick(IPS)}`;
      default:
        return pick(["ip", "tcp", "udp", "ip6", "arp"]);
    }
  };
  const expr = (depth: number): string => {
    const c = r();
    if (depth > 3 || c < 0.4) return primitive();
    if (c < 0.6) return `${expr(depth + 1)} and ${expr(depth + 1)}`;
    if (c < 0.8) return `${expr(depth + 1)} or ${expr(depth + 1)}`;
    if (c < 0.9) return `not ${expr(depth + 1)}`;
    return `(${expr(depth + 1)})`;
  };
  return () => expr(0);
}
