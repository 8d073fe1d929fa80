/**
 * Random conversations for the multi-worker tests: a few hosts exchanging TCP, UDP and ICMP packets in both
 * directions (so flows become ESTABLISHED), IPv4 and IPv6, with ICMP errors quoting earlier packets (RELATED),
 * plus some ARP. Steering must keep each conversation on one worker for ct.state to come out as on one VM.
 */
import fc from "fast-check";
import { arp, bytes, ether, icmp, ipv4, ipv6, tcp, udp } from "../runtime/frames.js";

const HOSTS4 = [0x0a000001, 0x0a000002, 0xc0a80001, 0xc0a80102, 0x08080808];
const HOSTS6 = [0x20010db8000000000000000000000001n, 0x20010db8000000000000000000000002n, 0xfe800000000000000000000000000009n];
const PORTS = [22, 53, 80, 443, 5000];

interface Packet {
  v6: boolean;
  a: number;
  b: number;
  proto: "tcp" | "udp" | "icmp-echo" | "icmp-error" | "arp";
  sport: number;
  dport: number;
  reply: boolean;
  flags: number;
}

const arbPacket: fc.Arbitrary<Packet> = fc.record({
  v6: fc.boolean(),
  a: fc.nat(4),
  b: fc.nat(4),
  proto: fc.constantFrom("tcp", "tcp", "udp", "udp", "icmp-echo", "icmp-error", "arp"),
  sport: fc.constantFrom(...PORTS),
  dport: fc.constantFrom(...PORTS),
  reply: fc.boolean(),
  flags: fc.constantFrom(0x02, 0x12, 0x10, 0x18, 0x04, 0x11),
});

function frameOf(p: Packet): Uint8Array {
  if (p.proto === "arp") return ether(0x0806, arp(1, 0x020000000001, HOSTS4[p.a]!, 0, HOSTS4[p.b]!));
  const [src, dst] = p.reply ? [p.b, p.a] : [p.a, p.b];
  const [sport, dport] = p.reply ? [p.dport, p.sport] : [p.sport, p.dport];
  const transport = (): [number, Uint8Array] => {
    switch (p.proto) {
      case "tcp":
        return [6, tcp(sport, dport, p.flags)];
      case "udp":
        return [17, udp(sport, dport, new Uint8Array(4))];
      case "icmp-echo":
        return p.v6 ? [58, icmp(p.reply ? 129 : 128, 0)] : [1, icmp(p.reply ? 0 : 8, 0)];
      default: {
        // an error about a UDP packet from dst to src (as a router or the destination would send it back)
        const quoted = p.v6
          ? ipv6({ src: HOSTS6[dst % HOSTS6.length]!, dst: HOSTS6[src % HOSTS6.length]!, next: 17 }, udp(dport, sport))
          : ipv4({ src: HOSTS4[dst]!, dst: HOSTS4[src]!, proto: 17 }, udp(dport, sport));
        return p.v6 ? [58, bytes([1, 4, 0, 0, 0, 0, 0, 0], quoted)] : [1, bytes([3, 3, 0, 0, 0, 0, 0, 0], quoted)];
      }
    }
  };
  const [proto, payload] = transport();
  if (p.v6) return ether(0x86dd, ipv6({ src: HOSTS6[src % HOSTS6.length]!, dst: HOSTS6[dst % HOSTS6.length]!, next: proto }, payload));
  return ether(0x0800, ipv4({ src: HOSTS4[src]!, dst: HOSTS4[dst]!, proto }, payload));
}

/** A batch of conversation packets, with increasing timestamps (µs). */
export function arbConversation(maxLength = 60): fc.Arbitrary<{ frames: Uint8Array[]; timesUs: Float64Array }> {
  return fc.array(fc.tuple(arbPacket, fc.integer({ min: 0, max: 50_000 })), { minLength: 1, maxLength, size: "max" }).map((list) => {
    let t = 1_000_000;
    return { frames: list.map(([p]) => frameOf(p)), timesUs: Float64Array.from(list, ([, dt]) => (t += dt)) };
  });
}
