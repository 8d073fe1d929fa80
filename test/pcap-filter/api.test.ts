/**
 * The library contract of the package root: compileFilter(expression, { linktype, tier, netmask }) returning
 * matches / matchMany / program / disassembly, running on the overlay VM.
 */
import { afterAll, describe, expect, it } from "vitest";
import { compileFilter, SourceError } from "../../index.js";
import { verify } from "../../overlay-isa/index.js";
import { stopJitCompiler } from "../../runtime/jit/index.js";

afterAll(async () => {
  await stopJitCompiler();
});

/** Ethernet + IPv4 + TCP, 54 bytes; `ihl` in 32-bit words, `fragOffset` in 8-byte units. */
function tcp4(opts: { src?: string; dst?: string; sport?: number; dport?: number; flags?: number; fragOffset?: number; vlan?: number } = {}): Uint8Array {
  const ip = (s: string) => s.split(".").map(Number);
  const eth = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const tag = opts.vlan === undefined ? [] : [0x81, 0x00, (opts.vlan >> 8) & 0x0f, opts.vlan & 0xff];
  const frag = opts.fragOffset ?? 0;
  const ipHeader = [0x45, 0, 0, 40, 0, 1, (frag >> 8) & 0x1f, frag & 0xff, 64, 6, 0, 0, ...ip(opts.src ?? "10.0.0.1"), ...ip(opts.dst ?? "10.0.0.2")];
  const sport = opts.sport ?? 1234;
  const dport = opts.dport ?? 80;
  const tcp = [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, opts.flags ?? 0x02, 0xff, 0xff, 0, 0, 0, 0];
  return Uint8Array.from([...eth, ...tag, 0x08, 0x00, ...ipHeader, ...tcp]);
}

describe("compileFilter", () => {
  it("answers like pcap_offline_filter for single frames", () => {
    const f = compileFilter("tcp dst port 80 and src host 10.0.0.1");
    expect(f.matches(tcp4())).toBe(true);
    expect(f.matches(tcp4({ dport: 81 }))).toBe(false);
    expect(f.matches(tcp4({ src: "10.0.0.9" }))).toBe(false);
    // a non-first fragment has no port to test
    expect(f.matches(tcp4({ fragOffset: 185 }))).toBe(false);
    // a frame cut before the port is rejected, as libpcap's load past the captured bytes rejects it
    expect(f.matches(tcp4().subarray(0, 36))).toBe(false);
  });

  it("runs a batch in one pass: 1 where a frame matches", () => {
    const f = compileFilter("tcp[tcpflags] & tcp-syn != 0");
    const frames = [tcp4({ flags: 0x02 }), tcp4({ flags: 0x10 }), tcp4({ flags: 0x12 }), new Uint8Array(10)];
    expect(Array.from(f.matchMany(frames))).toEqual([1, 0, 1, 0]);
    expect(f.matchMany([]).length).toBe(0);
  });

  it("uses the wire length for `len`, `less` and `greater`", () => {
    const f = compileFilter("greater 1000");
    const frame = tcp4();
    expect(f.matches(frame)).toBe(false);
    expect(f.matches(frame, 1500)).toBe(true);
    expect(Array.from(f.matchMany([frame, frame], [60, 1200]))).toEqual([0, 1]);
    expect(() => f.matchMany([frame], [1, 2])).toThrow(RangeError);
  });

  it("shifts offsets after vlan, for everything that follows", () => {
    const f = compileFilter("vlan 7 and tcp port 80");
    expect(f.matches(tcp4({ vlan: 7 }))).toBe(true);
    expect(f.matches(tcp4({ vlan: 8 }))).toBe(false);
    expect(f.matches(tcp4())).toBe(false);
  });

  it("exposes a verified program and its disassembly", () => {
    const f = compileFilter("ip");
    expect(verify(f.program).ok).toBe(true);
    expect(f.disassembly()).toContain("ldh r0, [pkt + 12]");
    expect(f.disassembly()).toContain("exit accept");
    expect(f.expression).toBe("ip");
    expect(f.linktype).toBe(1);
    expect(f.tier).toBe("interpreter");
  });

  it("compiles for other link types", () => {
    const raw = compileFilter("ip and tcp", { linktype: 101 });
    const ipPacket = tcp4().subarray(14);
    expect(raw.matches(ipPacket)).toBe(true);
    expect(raw.linktype).toBe(101);
    expect(() => compileFilter("ether host 1:2:3:4:5:6", { linktype: 12 })).toThrow(/ethernet addresses supported only on/);
    expect(() => compileFilter("ip", { linktype: 147 })).toThrow(/link type 147 is not supported/);
  });

  it("runs on the JIT tier with the same answers, and refuses an unknown tier", () => {
    const frames = [tcp4(), tcp4({ dport: 81 }), tcp4({ vlan: 3 }), tcp4().subarray(0, 20)];
    const interp = compileFilter("tcp port 80 or vlan", { tier: "interpreter" });
    const jit = compileFilter("tcp port 80 or vlan", { tier: "jit" });
    expect(jit.tier).toBe("jit");
    expect(Array.from(jit.matchMany(frames))).toEqual(Array.from(interp.matchMany(frames)));
    expect(() => compileFilter("ip", { tier: "fast" as "jit" })).toThrow(/tier must be one of/);
  });

  it("keeps each filter's program when several are used in turn", () => {
    const a = compileFilter("tcp port 80");
    const b = compileFilter("tcp port 81");
    const frame = tcp4({ dport: 81 });
    expect(a.matches(frame)).toBe(false);
    expect(b.matches(frame)).toBe(true);
    expect(a.matches(frame)).toBe(false);
  });

  it("throws SourceErrors that name the column", () => {
    let error: unknown;
    try {
      compileFilter("tcp port http-alt-x");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toBe("filter:1:10: unknown port 'http-alt-x'");
  });
});
