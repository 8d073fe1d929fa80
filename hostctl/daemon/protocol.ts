/**
 * The NIC daemon's Unix-socket protocol, version 2 (documented in hostctl/daemon/PROTOCOL.md; version 1 frames
 * are still served, without the qdisc requests version 2 added): length-prefixed
 * frames, each a JSON header plus an optional binary body. Requests carry an `id` the reply repeats.
 *
 *   offset 0  u32 BE  frame length L: the bytes after this field (5 ≤ L ≤ MAX_FRAME)
 *          4  u8      protocol version (1 or 2)
 *          5  u32 BE  header length H (H ≤ L − 5, H ≤ MAX_HEADER)
 *          9  H bytes JSON object (UTF-8)
 *      9 + H  L−5−H bytes binary body
 */
export const PROTOCOL_VERSION = 2;
/** Versions the daemon serves; a reply travels in its request's version. */
export const SUPPORTED_VERSIONS: readonly number[] = [1, 2];
export const MAX_FRAME = 64 << 20;
export const MAX_HEADER = 16 << 20;
const PREFIX = 9;

export interface Frame {
  version: number;
  header: Record<string, unknown>;
  body: Uint8Array;
}

export function encodeFrame(header: object, body: Uint8Array = new Uint8Array(0), version = PROTOCOL_VERSION): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const total = 5 + json.length + body.length;
  if (total > MAX_FRAME) throw new RangeError(`a frame of ${total} bytes exceeds the protocol's ${MAX_FRAME}`);
  const out = new Uint8Array(4 + total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total);
  view.setUint8(4, version);
  view.setUint32(5, json.length);
  out.set(json, PREFIX);
  out.set(body, PREFIX + json.length);
  return out;
}

/** What the decoder found: a frame, a frame it could skip but not use, or a stream it cannot follow any more. */
export type Decoded =
  | { kind: "frame"; frame: Frame }
  | { kind: "bad-frame"; message: string; id?: unknown }
  | { kind: "fatal"; message: string };

/** Splits a byte stream into frames; a malformed frame with a sane length is skipped, anything else is fatal. */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private dead = false;

  push(data: Uint8Array): Decoded[] {
    if (this.dead) return [];
    this.chunks.push(data);
    this.buffered += data.length;
    const out: Decoded[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (length < 5 || length > MAX_FRAME) {
        this.dead = true;
        out.push({ kind: "fatal", message: `frame length ${length} is outside 5 … ${MAX_FRAME}; the stream cannot be followed` });
        break;
      }
      if (this.buffered < 4 + length) break;
      const bytes = this.take(4 + length);
      out.push(decodeBody(bytes.subarray(4)));
    }
    return out;
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const all = this.concat();
    return all.subarray(0, n);
  }

  private concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const all = new Uint8Array(this.buffered);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.chunks = [all];
    return all;
  }

  private take(n: number): Uint8Array {
    const all = this.concat();
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}

function decodeBody(bytes: Uint8Array): Decoded {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  const h = view.getUint32(1);
  if (h > bytes.length - 5 || h > MAX_HEADER) return { kind: "bad-frame", message: `header length ${h} does not fit the frame of ${bytes.length + 4} bytes` };
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(5, 5 + h)).toString("utf8"));
  } catch (e) {
    return { kind: "bad-frame", message: `the header is not JSON: ${(e as Error).message}` };
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) return { kind: "bad-frame", message: "the header is not a JSON object" };
  const id = (header as Record<string, unknown>).id;
  if (!SUPPORTED_VERSIONS.includes(version)) return { kind: "bad-frame", message: `protocol version ${version} is not supported (this daemon speaks ${SUPPORTED_VERSIONS.join(" and ")})`, id };
  return { kind: "frame", frame: { version, header: header as Record<string, unknown>, body: bytes.slice(5 + h) } };
}

// ---- packet bodies -----------------------------------------------------------------------------------------

/** Per packet in an inject body: u32 LE caplen, u32 LE wire length, f64 LE time in µs (0: now), then the bytes. */
export const PACKET_RECORD_HEAD = 16;

export function encodePackets(frames: readonly Uint8Array[], wireLengths?: readonly number[], timesUs?: readonly number[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += PACKET_RECORD_HEAD + f.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  frames.forEach((f, i) => {
    view.setUint32(at, f.length, true);
    view.setUint32(at + 4, wireLengths?.[i] ?? f.length, true);
    view.setFloat64(at + 8, timesUs?.[i] ?? 0, true);
    out.set(f, at + PACKET_RECORD_HEAD);
    at += PACKET_RECORD_HEAD + f.length;
  });
  return out;
}

export function decodePackets(body: Uint8Array, count: number): { frames: Uint8Array[]; wireLengths: number[]; timesUs: number[] } | { error: string } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: Uint8Array[] = [];
  const wireLengths: number[] = [];
  const timesUs: number[] = [];
  let at = 0;
  const now = Date.now() * 1000;
  for (let i = 0; i < count; i++) {
    if (at + PACKET_RECORD_HEAD > body.length) return { error: `packet ${i}: the body ends inside its record header` };
    const cap = view.getUint32(at, true);
    const wire = view.getUint32(at + 4, true);
    const time = view.getFloat64(at + 8, true);
    if (at + PACKET_RECORD_HEAD + cap > body.length) return { error: `packet ${i}: ${cap} bytes announced, the body ends first` };
    if (wire < cap) return { error: `packet ${i}: wire length ${wire} is shorter than its ${cap} captured bytes` };
    if (!Number.isFinite(time) || time < 0) return { error: `packet ${i}: timestamp ${time} is not a time` };
    frames.push(body.subarray(at + PACKET_RECORD_HEAD, at + PACKET_RECORD_HEAD + cap));
    wireLengths.push(wire);
    timesUs.push(time === 0 ? now : time);
    at += PACKET_RECORD_HEAD + cap;
  }
  if (at !== body.length) return { error: `${body.length - at} bytes after the last of ${count} packets` };
  return { frames, wireLengths, timesUs };
}

/** Per packet in an inject reply: u32 generation, u32 verdict, u32 mark, u32 cycles, u8 flags (LE). */
export const OUTCOME_RECORD = 17;

export function u32Array(body: Uint8Array): number[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: number[] = [];
  for (let at = 0; at + 4 <= body.length; at += 4) out.push(view.getUint32(at, true));
  return out;
}

export function u32Body(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v >>> 0, true));
  return out;
}

/** Ring records (packet bytes plus metadata) as a JSON list plus their bytes back to back in the body, as
 * capture.read and app.read send them. */
export function encodeRecords<T extends { data: Uint8Array }>(list: readonly T[]): [object, Uint8Array] {
  let total = 0;
  for (const r of list) total += r.data.length;
  const body = new Uint8Array(total);
  let at = 0;
  const meta = list.map((r) => {
    body.set(r.data, at);
    at += r.data.length;
    const { data, ...rest } = r;
    return { ...rest, caplen: data.length };
  });
  return [{ records: meta }, body];
}
