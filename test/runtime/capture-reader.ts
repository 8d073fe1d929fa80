/**
 * Just enough of classic pcap (µs and ns, both byte orders) and pcapng (SHB, IDB, EPB, SPB) to feed the
 * runtime tests with real captures. Not a general pcap library (hostctl/pcap is that): it reads whole files
 * and throws on anything it cannot follow.
 */
import { readFileSync } from "node:fs";

export interface CapturedPacket {
  data: Uint8Array;
  wireLength: number;
  linktype: number;
}

export class CaptureFormatError extends Error {}

export function readCapture(path: string): CapturedPacket[] {
  const bytes = readFileSync(path);
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) throw new CaptureFormatError(`${path}: too short to be a capture (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic === 0x0a0d0d0a) return readPcapng(path, buf, view);
  return readPcap(path, buf, view, magic);
}

function readPcap(path: string, buf: Uint8Array, view: DataView, magic: number): CapturedPacket[] {
  let little: boolean;
  if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = true;
  else if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = false;
  else throw new CaptureFormatError(`${path}: not a pcap or pcapng file (magic 0x${magic.toString(16)})`);
  if (buf.length < 24) throw new CaptureFormatError(`${path}: truncated pcap header`);
  const major = view.getUint16(4, little);
  const minor = view.getUint16(6, little);
  if (major !== 2 || minor !== 4) throw new CaptureFormatError(`${path}: unsupported pcap version ${major}.${minor}`);
  const linkField = view.getUint32(20, little);
  if ((linkField & 0x03ff0000) !== 0) throw new CaptureFormatError(`${path}: reserved link-type bits set`);
  const linktype = linkField & 0xffff;
  const out: CapturedPacket[] = [];
  let at = 24;
  while (at + 16 <= buf.length) {
    const caplen = view.getUint32(at + 8, little);
    const wireLength = view.getUint32(at + 12, little);
    at += 16;
    if (at + caplen > buf.length) throw new CaptureFormatError(`${path}: record at ${at - 16} runs past the end of the file`);
    out.push({ data: buf.subarray(at, at + caplen), wireLength, linktype });
    at += caplen;
  }
  return out;
}

function readPcapng(path: string, buf: Uint8Array, view: DataView): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  let little = true;
  let interfaces: number[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const typeRaw = view.getUint32(at, true);
    if (typeRaw === 0x0a0d0d0a) {
      const bom = view.getUint32(at + 8, true);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else throw new CaptureFormatError(`${path}: bad byte-order magic at ${at}`);
      const major = view.getUint16(at + 12, little);
      if (major !== 1) throw new CaptureFormatError(`${path}: unsupported pcapng version ${major}`);
      interfaces = [];
    }
    const type = view.getUint32(at, little);
    const len = view.getUint32(at + 4, little);
    if (len < 12 || len % 4 !== 0 || at + len > buf.length) throw new CaptureFormatError(`${path}: bad block length ${len} at ${at}`);
    if (type === 1) {
      interfaces.push(view.getUint16(at + 8, little));
    } else if (type === 6) {
      const iface = view.getUint32(at + 8, little);
      const caplen = view.getUint32(at + 20, little);
      const wireLength = view.getUint32(at + 24, little);
      const linktype = interfaces[iface];
      if (linktype === undefined) throw new CaptureFormatError(`${path}: packet on undeclared interface ${iface}`);
      if (28 + caplen > len) throw new CaptureFormatError(`${path}: packet data runs past its block at ${at}`);
      out.push({ data: buf.subarray(at + 28, at + 28 + caplen), wireLength, linktype });
    } else if (type === 3) {
      const wireLength = view.getUint32(at + 8, little);
      const linktype = interfaces[0];
      if (linktype === undefined) throw new CaptureFormatError(`${path}: simple packet before any interface`);
      const caplen = Math.min(wireLength, len - 16);
      out.push({ data: buf.subarray(at + 12, at + 12 + caplen), wireLength, linktype });
    }
    at += len;
  }
  return out;
}
