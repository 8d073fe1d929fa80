/**
 * Synthetic traffic for benchmarks: Ethernet/IPv4/TCP or UDP frames of a fixed size with ports drawn from a
 * seeded generator, so every run measures the same packets.
 */

/** xorshift32: small, seeded, repeatable. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export interface FrameSpec {
  count: number;
  size?: number; // bytes per frame, ≥ 54
  seed?: number;
  /** ports that some frames are sent to (the rest go to random high ports) */
  hotPorts?: readonly number[];
  /** fraction of frames sent to a hot port */
  hotFraction?: number;
  /** fraction of frames that are UDP instead of TCP */
  udpFraction?: number;
}

/** Frames laid out back to back in one buffer; frame i is bytes [i*size, (i+1)*size). */
export function makeFrames(spec: FrameSpec): { buffer: Uint8Array; size: number; frames: Uint8Array[] } {
  const size = spec.size ?? 64;
  const next = rng(spec.seed ?? 42);
  const hot = spec.hotPorts ?? [];
  const hotFraction = spec.hotFraction ?? 0.1;
  const udpFraction = spec.udpFraction ?? 0.2;
  const buffer = new Uint8Array(spec.count * size);
  const frames: Uint8Array[] = new Array(spec.count);
  for (let i = 0; i < spec.count; i++) {
    const f = buffer.subarray(i * size, (i + 1) * size);
    frames[i] = f;
    const v = new DataView(f.buffer, f.byteOffset, size);
    // Ethernet
    v.setUint32(0, 0x02000000);
    v.setUint16(4, 0x0001);
    v.setUint32(6, 0x02000000);
    v.setUint16(10, 0x0002);
    v.setUint16(12, 0x0800);
    // IPv4
    const udp = (next() % 1000) / 1000 < udpFraction;
    v.setUint8(14, 0x45);
    v.setUint16(16, size - 14);
    v.setUint16(18, i & 0xffff);
    v.setUint8(22, 64);
    v.setUint8(23, udp ? 17 : 6);
    v.setUint32(26, 0x0a000000 | (next() & 0xffff));
    v.setUint32(30, 0xc0a80000 | (next() & 0xffff));
    // ports
    const sport = 1024 + (next() % 60000);
    const dport = hot.length && (next() % 1000) / 1000 < hotFraction ? hot[next() % hot.length]! : 1024 + (next() % 60000);
    v.setUint16(34, sport);
    v.setUint16(36, dport);
    if (udp) v.setUint16(38, size - 34);
    else {
      v.setUint32(38, next());
      v.setUint8(46, 0x50);
      v.setUint8(47, 0x10);
      v.setUint16(48, 65535);
    }
  }
  return { buffer, size, frames };
}
