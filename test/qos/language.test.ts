/**
 * The QoS front ends: tc's units exactly, the .qos language and tc scripts onto one IR, positioned errors and
 * the warnings the issue asks for.
 */
import { describe, expect, it } from "vitest";
import { SourceError } from "../../overlay-isa/index.js";
import { compileQos } from "../../compiler/qos/compile.js";
import { formatHandle, formatRate, formatSize, formatTime, parseHandle, parseRate, parseSize, parseTime, UnitError } from "../../compiler/qos/units.js";

function errorOf(text: string, format: "qos" | "tc" = "qos"): SourceError {
  try {
    compileQos(text, format === "tc" ? "t.tc" : "t.qos", { format });
  } catch (e) {
    if (e instanceof SourceError) return e;
    throw e;
  }
  throw new Error("expected an error");
}

describe("tc units", () => {
  it("reads rates as tc does: bit/kbit/mbit are bits per second, bps/kbps/mbps BYTES per second, any case", () => {
    expect(parseRate("8000")).toBe(1000); // a bare number is bits per second
    expect(parseRate("1kbit")).toBe(125);
    expect(parseRate("1kbps")).toBe(1000); // kbps is kilobytes per second
    expect(parseRate("10Mbit")).toBe(1_250_000);
    expect(parseRate("1mbps")).toBe(1_000_000);
    expect(parseRate("1gbit")).toBe(125_000_000);
    expect(parseRate("1kibit")).toBe(128);
    expect(parseRate("1.5mbit")).toBe(187_500);
    expect(() => parseRate("10mb")).toThrow(UnitError);
    expect(() => parseRate("fast")).toThrow(UnitError);
  });

  it("reads sizes as tc does: kb = 1024 bytes, kbit = 1024 bits, a bare number bytes", () => {
    expect(parseSize("1514")).toBe(1514);
    expect(parseSize("10kb")).toBe(10_240);
    expect(parseSize("10k")).toBe(10_240);
    expect(parseSize("32kbit")).toBe(4096);
    expect(parseSize("2mb")).toBe(2 * 1024 * 1024);
    expect(parseSize("1500b")).toBe(1500);
    expect(() => parseSize("10kib")).toThrow(UnitError);
  });

  it("reads times in µs: s, ms, us, and a bare number is microseconds", () => {
    expect(parseTime("5ms")).toBe(5000);
    expect(parseTime("1s")).toBe(1_000_000);
    expect(parseTime("250")).toBe(250);
    expect(parseTime("100usec")).toBe(100);
  });

  it("reads class ids in hex and prints them as tc does", () => {
    expect(parseHandle("1:10")).toBe(0x10010);
    expect(parseHandle("1:a")).toBe(0x1000a);
    expect(parseHandle("10:")).toBe(0x100000);
    expect(formatHandle(0x10010)).toBe("1:10");
    expect(formatHandle(0x10000)).toBe("1:");
    expect(() => parseHandle("1:xyz")).toThrow(UnitError);
  });

  it("prints rates, sizes and times as tc does", () => {
    expect(formatRate(1_250_000)).toBe("10Mbit");
    expect(formatRate(187_500)).toBe("1500Kbit");
    expect(formatRate(125)).toBe("1Kbit");
    expect(formatSize(10_240)).toBe("10Kb");
    expect(formatSize(1514)).toBe("1514b");
    expect(formatSize(32 << 20)).toBe("32Mb");
    expect(formatTime(5000)).toBe("5ms");
    expect(formatTime(100_000)).toBe("100ms");
    expect(formatTime(1_500_000)).toBe("1.5s");
  });
});

describe("tc scripts and .qos policies", () => {
  const qos = `qos dev eth0 {
    qdisc htb handle 1: root default 30 r2q 20
    class 1:1 htb rate 100mbit
    class 1:10 parent 1:1 htb rate 60mbit ceil 100mbit prio 0 burst 15k
    class 1:30 parent 1:1 htb rate 40kbps ceil 100mbit prio 1
    qdisc sfq parent 1:30 perturb 10
  }`;
  it("compile to the same programs", () => {
    const tc = [
      "# the same policy as tc commands",
      "tc qdisc add dev eth0 root handle 1: htb default 30 r2q 20",
      "tc class add dev eth0 parent 1: classid 1:1 htb rate 100mbit",
      "tc class add dev eth0 parent 1:1 classid 1:10 htb rate 60mbit ceil 100mbit prio 0 burst 15k",
      "tc class add dev eth0 parent 1:1 classid 1:30 htb \\",
      "   rate 40kbps ceil 100mbit prio 1",
      "tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dport 5432 0xffff flowid 1:10",
    ].join("\n");
    const fromTc = compileQos(tc, "x.tc", { format: "tc" });
    const fromQos = compileQos(qos.replace(/\n\s*qdisc sfq.*\n/, "\n  filter prio 1 meta protocol ip meta l4proto 6 tcp dport 5432 flowid 1:10\n"), "x.qos");
    const p = fromTc.policy.root.params;
    if (p.kind !== "htb") throw new Error("htb expected");
    expect(p.defaultMinor).toBe(0x30);
    expect(p.classes.find((c) => c.id === 0x10030)!.rate).toBe(40_000); // kbps: kilobytes per second
    expect(p.classes.find((c) => c.id === 0x10010)!.burst).toBe(15 * 1024);
    expect(fromTc.scheduler.image).toEqual(fromQos.scheduler.image);
    // u32's `ip dport` matches TCP, UDP and SCTP alike: three rules
    expect(fromTc.classifier.ir.chains[0]!.rules).toHaveLength(3);
  });

  it("maps fw, flower and matchall filters onto the match language", () => {
    const c = compileQos(
      [
        "tc qdisc add dev eth0 root handle 1: prio",
        "tc filter add dev eth0 parent 1: handle 6 fw flowid 1:1",
        "tc filter add dev eth0 parent 1: prio 2 flower ip_proto udp dst_port 5000-5010 src_ip 10.0.0.0/8 classid 1:2",
        "tc filter add dev eth0 parent 1: prio 9 matchall flowid 1:3",
      ].join("\n"),
      "x.tc",
      { format: "tc" },
    );
    expect(c.policy.filters.map((f) => f.matches.length)).toEqual([1, 3, 0]); // mark; l4proto, port range, prefix; nothing
  });

  it("put an sfq under an htb class, from either front end, with tc's parameters", () => {
    const fromQos = compileQos(qos, "x.qos");
    const tc = [
      "tc qdisc add dev eth0 root handle 1: htb default 30 r2q 20",
      "tc class add dev eth0 parent 1: classid 1:1 htb rate 100mbit",
      "tc class add dev eth0 parent 1:1 classid 1:10 htb rate 60mbit ceil 100mbit prio 0 burst 15k",
      "tc class add dev eth0 parent 1:1 classid 1:30 htb rate 40kbps ceil 100mbit prio 1",
      "tc qdisc add dev eth0 parent 1:30 sfq perturb 10",
    ].join("\n");
    const fromTc = compileQos(tc, "x.tc", { format: "tc" });
    expect(fromTc.scheduler.image).toEqual(fromQos.scheduler.image);
    const p = fromQos.policy.root.params;
    if (p.kind !== "htb") throw new Error("htb expected");
    expect(p.classes.find((c) => c.id === 0x10030)!.leaf).toMatchObject({ kind: "sfq", perturbSec: 10, divisor: 1024, limit: 127 });
    // 1:10's pfifo, then 1:30's 1024 buckets, then the direct queue
    expect(fromQos.queues.length).toBe(1 + 1024 + 1);
  });
});

describe("errors and warnings", () => {
  it("points at an unknown class id in a filter, listing the classes", () => {
    const e = errorOf("qos {\n qdisc htb handle 1: root\n class 1:1 htb rate 1mbit\n filter tcp dport 22 flowid 1:40\n}");
    expect(e.message).toBe("t.qos:4:29: unknown class id 1:40 (classes of 1:: 1:1)");
    expect(e.format().split("\n")).toEqual([e.message, "   filter tcp dport 22 flowid 1:40", "                              ^"]);
  });

  it("points at an unknown parent class", () => {
    expect(errorOf("qos {\n qdisc htb handle 1: root\n class 1:10 parent 1:5 htb rate 1mbit\n}").message).toMatch(/^t\.qos:3:20: unknown class id 1:5/);
  });

  it("names the parameters a kind takes", () => {
    expect(errorOf("qos { qdisc tbf root rate 1mbit burst 10k latency 5ms speed 3 }").message).toMatch(/unknown tbf parameter 'speed' \(tbf takes rate, burst, limit, latency, peakrate, mtu\)/);
  });

  it("checks values with tc's words", () => {
    expect(errorOf("qos { qdisc tbf root rate 10mb burst 10k limit 100 }").message).toMatch(/t\.qos:1:27: tbf rate: '10mb': unknown rate unit 'mb'/);
    expect(errorOf("qos { qdisc tbf root rate 1mbit burst 10k }").message).toMatch(/tbf needs 'limit' \(bytes\) or 'latency'/);
  });

  it("points into the match language inside a filter", () => {
    expect(errorOf("qos {\n qdisc prio handle 1: root\n filter tcp dport 99999 flowid 1:1\n}").message).toBe("t.qos:3:19: port 99999 is out of range (0 to 65535)");
  });

  it("points at a tc script's word", () => {
    const e = errorOf("tc qdisc add dev eth0 root handle 1: htb\ntc class add dev eth0 parent 1: classid 1:1 htb rate 10mbits", "tc");
    expect(e.message).toMatch(/^t\.tc:2:54: htb class rate: '10mbits': unknown rate unit/);
    expect(errorOf("tc qdisc add dev eth0 root handle 1: htb\ntc qdisc add dev eth0 root handle 2: htb", "tc").message).toMatch(/root qdisc exists already .* use 'replace'/);
  });

  it("warns about a child rate above its parent's and a default naming no class", () => {
    const c = compileQos("qos {\n qdisc htb handle 1: root default 99\n class 1:1 htb rate 10mbit\n class 1:10 parent 1:1 htb rate 20mbit\n}", "t.qos");
    const text = c.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`);
    expect(text).toContain("4:33: class 1:10's rate 20Mbit is above its parent 1:1's rate 10Mbit: the parent cannot guarantee it");
    expect(text.some((t) => t.startsWith("2:35: default 99 names no class"))).toBe(true);
  });

  it("warns about a filter that an earlier filter shadows", () => {
    const c = compileQos("qos {\n qdisc prio handle 1: root\n filter tcp dport 22 flowid 1:1\n filter tcp dport 22 flowid 1:2\n}", "t.qos");
    expect(c.warnings.some((w) => w.line === 4 && /filter/.test(w.message))).toBe(true);
  });
});
