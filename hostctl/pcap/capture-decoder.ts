/**
 * Incremental decoder for classic pcap and pcapng, following libpcap 1.10.3 (sf-pcap.c, sf-pcapng.c) rule for
 * rule: the same accepted magics and versions, the same snapshot-length handling, the same refusals with the same
 * messages. It parses records straight out of a ByteWindow and never consumes a record until all of it is there,
 * so a caller can feed it from a file descriptor (synchronously) or from a stream (asynchronously): when it
 * answers NEED_MORE, fill the window with at least `needed` unread bytes, or mark its end, and ask again.
 */
import type { ByteWindow } from "./byte-window.js";
import { CaptureFileError } from "./capture-file-error.js";
import { CapturedPacket, PacketDirection, type TimestampPrecision } from "./packet.js";
import { adjustSnapshot, linktypeToDlt, maxSnaplenForDlt } from "./link-types.js";

export const NEED_MORE = Symbol("need more bytes");

const TCPDUMP_MAGIC = 0xa1b2c3d4;
const KUZNETZOV_TCPDUMP_MAGIC = 0xa1b2cd34;
const NSEC_TCPDUMP_MAGIC = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const SHB_INSANE_MAX = 1024 * 1024;
const INITIAL_MAX_BLOCKSIZE = 16 * 1024 * 1024;

const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const BT_SHB = PCAPNG_SHB;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const EPB_FLAGS = 2;

export type CaptureFormat = "pcap" | "pcapng";

/** An interface a capture file describes (classic pcap has exactly one). */
export interface CaptureInterface {
  /** Position among all interfaces of the file, counting across pcapng sections. */
  readonly index: number;
  /** LINKTYPE_ value as stored in the file. */
  readonly linkType: number;
  /** The DLT_ value that link type stands for. */
  readonly dlt: number;
  readonly snapshotLength: number;
  readonly name: string | undefined;
  readonly description: string | undefined;
  /** Timestamp units per second (if_tsresol; 10^6 for classic µs files, 10^9 for ns files). */
  readonly ticksPerSecond: number;
  /** if_tsoffset, in seconds. */
  readonly secondsOffset: number;
}

/** What opening a capture file tells about it (what tcpdump prints in "reading from file …"). */
export interface CaptureFileInfo {
  readonly format: CaptureFormat;
  readonly littleEndian: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** LINKTYPE_ of the file (of its first interface for pcapng), with libpcap's LT_LINKTYPE_EXT bits removed. */
  readonly linkType: number;
  /** The upper 6 bits of a classic header's link type, which libpcap carries into files it writes. */
  readonly linkTypeExtension: number;
  readonly dlt: number;
  /** Snapshot length after libpcap's adjustment (0 or > INT_MAX become the link type's maximum). */
  readonly snapshotLength: number;
  /** Native precision of the file's timestamps. */
  readonly precision: TimestampPrecision;
}

interface MutableInterface {
  index: number;
  linkType: number;
  dlt: number;
  snapshotLength: number;
  name: string | undefined;
  description: string | undefined;
  ticksPerSecond: number;
  secondsOffset: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

export class CaptureDecoder {
  /** Set once the file header (and for pcapng the first interface) has been read. */
  info: CaptureFileInfo | undefined;
  /** All interfaces seen so far, in file order. */
  readonly interfaces: CaptureInterface[] = [];
  /** When next() or open() answers NEED_MORE: how many unread bytes the window must hold to progress. */
  needed = 0;

  private littleEndian = true;
  private format: CaptureFormat = "pcap";
  private dlt = 0;
  private snapshot = 0;
  private maxCaplen = 0;
  // Classic pcap.
  private recordHeaderSize = 16;
  private lengthsSwapped: "no" | "yes" | "maybe" = "no";
  private nanosecondFile = false;
  // pcapng.
  private seekingFirstInterface = false;
  private maxBlockSize = INITIAL_MAX_BLOCKSIZE;
  /** Index (in `interfaces`) of interface 0 of the current section, and how many the section has. */
  private sectionBase = 0;
  private sectionInterfaceCount = 0;

  constructor(private readonly window: ByteWindow) {}

  /** Read the file header. Returns NEED_MORE or the header; throws CaptureFileError for a file libpcap refuses. */
  open(): CaptureFileInfo | typeof NEED_MORE {
    if (this.info !== undefined) return this.info;
    if (this.seekingFirstInterface) return this.seekFirstInterface();
    const w = this.window;
    const available = w.available;
    if (available < 4) {
      if (!w.eof) return this.wait(4);
      throw new CaptureFileError(`truncated dump file; tried to read 4 file header bytes, only got ${available}`);
    }
    const magicLE = w.view.getUint32(w.start, true);
    const magicBE = w.view.getUint32(w.start, false);
    if (isClassicMagic(magicLE)) return this.openClassic(true, magicLE);
    if (isClassicMagic(magicBE)) return this.openClassic(false, magicBE);
    if (magicLE === PCAPNG_SHB) return this.openPcapng();
    throw new CaptureFileError("unknown file format");
  }

  /** The next packet, null at the end of the file, or NEED_MORE. Throws CaptureFileError like pcap_next_ex. */
  next(): CapturedPacket | null | typeof NEED_MORE {
    return this.format === "pcap" ? this.nextClassic() : this.nextPcapng();
  }

  private wait(bytes: number): typeof NEED_MORE {
    this.needed = bytes;
    return NEED_MORE;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Classic pcap

  private openClassic(littleEndian: boolean, magic: number): CaptureFileInfo | typeof NEED_MORE {
    const w = this.window;
    const available = w.available;
    if (available < 24) {
      if (!w.eof) return this.wait(24);
      throw new CaptureFileError(
        `truncated dump file; tried to read 24 file header bytes, only got ${available - 4}`,
      );
    }
    const v = w.view;
    const o = w.start;
    const versionMajor = v.getUint16(o + 4, littleEndian);
    const versionMinor = v.getUint16(o + 6, littleEndian);
    const snaplen = v.getUint32(o + 16, littleEndian);
    const rawLinkType = v.getUint32(o + 20, littleEndian);
    if (versionMajor < 2) throw new CaptureFileError("archaic pcap savefile format");
    if (!((versionMajor === 2 && versionMinor <= 4) || (versionMajor === 543 && versionMinor === 0))) {
      throw new CaptureFileError(`unsupported pcap savefile version ${versionMajor}.${versionMinor}`);
    }
    w.start = o + 24;
    const linkType = (rawLinkType & 0x03ffffff) >>> 0;
    const dlt = linktypeToDlt(linkType);
    let snapshot = adjustSnapshot(dlt, snaplen);
    this.littleEndian = littleEndian;
    this.format = "pcap";
    this.dlt = dlt;
    this.nanosecondFile = magic === NSEC_TCPDUMP_MAGIC;
    this.lengthsSwapped =
      versionMajor === 543 || versionMinor < 3 ? "yes" : versionMinor === 3 ? "maybe" : "no";
    if (magic === KUZNETZOV_TCPDUMP_MAGIC) {
      // Alexey Kuznetzov's patched header: 8 more bytes per record; possibly cooked captures with a fake
      // 14-byte Ethernet header added, hence libpcap's larger snapshot.
      this.recordHeaderSize = 24;
      if (dlt === 1) snapshot = snapshot <= 0x7fffffff - 14 ? snapshot + 14 : 0x7fffffff;
    }
    this.snapshot = snapshot;
    this.maxCaplen = maxSnaplenForDlt(dlt);
    this.interfaces.push({
      index: 0,
      linkType,
      dlt,
      snapshotLength: snapshot,
      name: undefined,
      description: undefined,
      ticksPerSecond: this.nanosecondFile ? 1e9 : 1e6,
      secondsOffset: 0,
    });
    this.info = {
      format: "pcap",
      littleEndian,
      versionMajor,
      versionMinor,
      linkType,
      linkTypeExtension: (rawLinkType & 0xfc000000) >>> 0,
      dlt,
      snapshotLength: snapshot,
      precision: this.nanosecondFile ? "nano" : "micro",
    };
    return this.info;
  }

  private nextClassic(): CapturedPacket | null | typeof NEED_MORE {
    const w = this.window;
    const headerSize = this.recordHeaderSize;
    const available = w.end - w.start;
    if (available < headerSize) {
      if (!w.eof) return this.wait(headerSize);
      if (available === 0) return null;
      throw new CaptureFileError(
        `truncated dump file; tried to read ${headerSize} header bytes, only got ${available}`,
        true,
      );
    }
    const v = w.view;
    const o = w.start;
    const le = this.littleEndian;
    const seconds = v.getUint32(o, le);
    const fraction = v.getUint32(o + 4, le);
    let caplen = v.getUint32(o + 8, le);
    let wireLength = v.getUint32(o + 12, le);
    if (this.lengthsSwapped === "yes" || (this.lengthsSwapped === "maybe" && caplen > wireLength)) {
      const t = caplen;
      caplen = wireLength;
      wireLength = t;
    }
    if (caplen > this.maxCaplen) {
      throw new CaptureFileError(
        caplen > this.snapshot
          ? `invalid packet capture length ${caplen}, bigger than snaplen of ${this.snapshot}`
          : `invalid packet capture length ${caplen}, bigger than maximum of ${this.maxCaplen}`,
        true,
      );
    }
    const recordSize = headerSize + caplen;
    if (available < recordSize) {
      if (!w.eof) return this.wait(recordSize);
      const got = available - headerSize;
      // libpcap first reads min(caplen, snapshot) bytes, then discards the rest of an over-long record.
      const tried = caplen > this.snapshot && got < this.snapshot ? this.snapshot : caplen;
      throw new CaptureFileError(`truncated dump file; tried to read ${tried} captured bytes, only got ${got}`, true);
    }
    // A record longer than the file's snapshot length is cut to it, as libpcap hands it out.
    const kept = caplen > this.snapshot ? this.snapshot : caplen;
    const dataStart = o + headerSize;
    w.start = o + recordSize;
    return new CapturedPacket(
      seconds,
      this.nanosecondFile ? fraction : fraction * 1000,
      wireLength,
      w.bytes.subarray(dataStart, dataStart + kept),
    );
  }

  // ---------------------------------------------------------------------------------------------------------
  // pcapng

  private openPcapng(): CaptureFileInfo | typeof NEED_MORE {
    const w = this.window;
    const available = w.available;
    if (available < 12) {
      if (!w.eof) return this.wait(12);
      // Too short to hold a byte-order magic: libpcap calls it "not pcapng".
      throw new CaptureFileError("unknown file format");
    }
    const v = w.view;
    const o = w.start;
    let littleEndian: boolean;
    if (v.getUint32(o + 8, true) === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = true;
    else if (v.getUint32(o + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = false;
    else throw new CaptureFileError("unknown file format");
    const totalLength = v.getUint32(o + 4, littleEndian);
    if (totalLength < 28 || totalLength > SHB_INSANE_MAX) {
      throw new CaptureFileError(
        `Section Header Block in pcapng dump file has invalid length 28 < _${totalLength}_ < ${SHB_INSANE_MAX} (BT_SHB_INSANE_MAX)`,
      );
    }
    if (available < totalLength) {
      if (!w.eof) return this.wait(totalLength);
      throw new CaptureFileError(
        `truncated pcapng dump file; tried to read ${totalLength - 12} bytes, only got ${available - 12}`,
      );
    }
    const versionMajor = v.getUint16(o + 12, littleEndian);
    const versionMinor = v.getUint16(o + 14, littleEndian);
    if (!(versionMajor === 1 && (versionMinor === 0 || versionMinor === 2))) {
      throw new CaptureFileError(`unsupported pcapng savefile version ${versionMajor}.${versionMinor}`);
    }
    // libpcap does not check the first SHB's trailer here; neither do we.
    w.start = o + totalLength;
    this.littleEndian = littleEndian;
    this.format = "pcapng";
    this.versionMajor = versionMajor;
    this.versionMinor = versionMinor;
    this.seekingFirstInterface = true;
    return this.seekFirstInterface();
  }

  private versionMajor = 0;
  private versionMinor = 0;

  private seekFirstInterface(): CaptureFileInfo | typeof NEED_MORE {
    for (;;) {
      const block = this.readBlock(false);
      if (block === NEED_MORE) return NEED_MORE;
      if (block === null) throw new CaptureFileError("the capture file has no Interface Description Blocks");
      switch (block) {
        case BT_IDB: {
          const at = this.claim(8, false);
          const linkType = this.window.view.getUint16(at, this.littleEndian);
          const snaplen = this.window.view.getUint32(at + 4, this.littleEndian);
          this.dlt = linktypeToDlt(linkType);
          this.snapshot = adjustSnapshot(this.dlt, snaplen);
          this.maxCaplen = this.snapshot;
          const forSnaplen = 8 + 20 + maxSnaplenForDlt(this.dlt) + 131072 + 4;
          if (forSnaplen > this.maxBlockSize) this.maxBlockSize = forSnaplen;
          const iface = this.addInterface(linkType, false);
          this.seekingFirstInterface = false;
          this.info = {
            format: "pcapng",
            littleEndian: this.littleEndian,
            versionMajor: this.versionMajor,
            versionMinor: this.versionMinor,
            linkType,
            linkTypeExtension: 0,
            dlt: this.dlt,
            snapshotLength: this.snapshot,
            precision: iface.ticksPerSecond > 1e6 ? "nano" : "micro",
          };
          return this.info;
        }
        case BT_EPB:
        case BT_SPB:
        case BT_PB:
          throw new CaptureFileError(
            "the capture file has a packet block before any Interface Description Blocks",
          );
        default:
          break; // Anything else before the first IDB is skipped.
      }
    }
  }

  /** Cursor over the body of the last block read: [cursor, cursorEnd), trailer excluded. */
  private cursor = 0;
  private cursorEnd = 0;
  private blockType = 0;

  /**
   * libpcap's read_block: the whole block must be in the window; returns its type (body under the cursor),
   * null at a clean end of file, or NEED_MORE.
   */
  private readBlock(whileReading: boolean): number | null | typeof NEED_MORE {
    const w = this.window;
    const available = w.end - w.start;
    if (available < 8) {
      if (!w.eof) return this.wait(8);
      if (available === 0) return null;
      throw new CaptureFileError(
        `truncated pcapng dump file; tried to read 8 bytes, only got ${available}`,
        whileReading,
      );
    }
    const v = w.view;
    const o = w.start;
    const le = this.littleEndian;
    const type = v.getUint32(o, le);
    const totalLength = v.getUint32(o + 4, le);
    if (totalLength < 12) {
      throw new CaptureFileError(
        `block in pcapng dump file has a length of ${totalLength} < 12`,
        whileReading,
      );
    }
    if (totalLength % 4 !== 0) {
      throw new CaptureFileError(
        `block in pcapng dump file has a length of ${totalLength} that is not a multiple of 4`,
        whileReading,
      );
    }
    if (totalLength > this.maxBlockSize) {
      throw new CaptureFileError(`pcapng block size ${totalLength} > maximum ${this.maxBlockSize}`, whileReading);
    }
    if (available < totalLength) {
      if (!w.eof) return this.wait(totalLength);
      throw new CaptureFileError(
        `truncated pcapng dump file; tried to read ${totalLength - 8} bytes, only got ${available - 8}`,
        whileReading,
      );
    }
    if (v.getUint32(o + totalLength - 4, le) !== totalLength) {
      throw new CaptureFileError("block total length in header and trailer don't match", whileReading);
    }
    w.start = o + totalLength;
    this.cursor = o + 8;
    this.cursorEnd = o + totalLength - 4;
    this.blockType = type;
    return type;
  }

  /** libpcap's get_from_block_data: claim `size` bytes of the block body or refuse the block as too short. */
  private claim(size: number, whileReading: boolean): number {
    if (this.cursorEnd - this.cursor < size) {
      throw new CaptureFileError(
        `block of type ${this.blockType} in pcapng dump file is too short`,
        whileReading,
      );
    }
    const at = this.cursor;
    this.cursor = at + size;
    return at;
  }

  /** Read an IDB body (fixed part already claimed up to the options) and record the interface. */
  private addInterface(linkType: number, whileReading: boolean): MutableInterface {
    const iface: MutableInterface = {
      index: this.interfaces.length,
      linkType,
      dlt: linktypeToDlt(linkType),
      snapshotLength: this.snapshot,
      name: undefined,
      description: undefined,
      ticksPerSecond: 1e6,
      secondsOffset: 0,
    };
    this.readInterfaceOptions(iface, whileReading);
    if (this.sectionInterfaceCount === 0) this.sectionBase = this.interfaces.length;
    this.interfaces.push(iface);
    this.sectionInterfaceCount++;
    return iface;
  }

  private readInterfaceOptions(iface: MutableInterface, whileReading: boolean): void {
    const v = this.window.view;
    const le = this.littleEndian;
    let sawResolution = false;
    let sawOffset = false;
    while (this.cursor < this.cursorEnd) {
      const at = this.claim(4, whileReading);
      const code = v.getUint16(at, le);
      const length = v.getUint16(at + 2, le);
      const valueAt = this.claim((length + 3) & ~3, whileReading);
      switch (code) {
        case OPT_ENDOFOPT:
          if (length !== 0) {
            throw new CaptureFileError(
              `Interface Description Block has opt_endofopt option with length ${length} != 0`,
              whileReading,
            );
          }
          return;
        case IF_NAME:
          iface.name = utf8.decode(this.window.bytes.subarray(valueAt, valueAt + length));
          break;
        case IF_DESCRIPTION:
          iface.description = utf8.decode(this.window.bytes.subarray(valueAt, valueAt + length));
          break;
        case IF_TSRESOL: {
          if (length !== 1) {
            throw new CaptureFileError(
              `Interface Description Block has if_tsresol option with length ${length} != 1`,
              whileReading,
            );
          }
          if (sawResolution) {
            throw new CaptureFileError(
              "Interface Description Block has more than one if_tsresol option",
              whileReading,
            );
          }
          sawResolution = true;
          const resolution = this.window.bytes[valueAt]!;
          if (resolution & 0x80) {
            const shift = resolution & 0x7f;
            if (shift > 63) {
              throw new CaptureFileError(
                `Interface Description Block if_tsresol option resolution 2^-${shift} is too high`,
                whileReading,
              );
            }
            iface.ticksPerSecond = 2 ** shift;
          } else {
            if (resolution > 19) {
              throw new CaptureFileError(
                `Interface Description Block if_tsresol option resolution 10^-${resolution} is too high`,
                whileReading,
              );
            }
            iface.ticksPerSecond = 10 ** resolution;
          }
          break;
        }
        case IF_TSOFFSET: {
          if (length !== 8) {
            throw new CaptureFileError(
              `Interface Description Block has if_tsoffset option with length ${length} != 8`,
              whileReading,
            );
          }
          if (sawOffset) {
            throw new CaptureFileError(
              "Interface Description Block has more than one if_tsoffset option",
              whileReading,
            );
          }
          sawOffset = true;
          iface.secondsOffset = Number(v.getBigInt64(valueAt, le));
          break;
        }
        default:
          break;
      }
    }
  }

  private nextPcapng(): CapturedPacket | null | typeof NEED_MORE {
    const found = this.nextPcapngRecord();
    if (found !== true) return found;
    const caplen = this.recordCaptured;
    const dataAt = this.recordDataAt;
    const iface = this.recordInterface!;
    const packet = new CapturedPacket(0, 0, this.recordWireLength, this.window.bytes.subarray(dataAt, dataAt + caplen), iface.index);
    setTimestamp(packet, this.recordTicksHigh, this.recordTicksLow, iface);
    if (this.recordHasOptions()) this.readPacketOptions(packet);
    return packet;
  }

  // The packet record nextPcapngRecord() found last (pcapng), for callers that read records without packet
  // objects (hostctl/pcap/pcapng-fast-path.ts): its data is window.bytes[recordDataAt, + recordCaptured).
  recordInterface: CaptureInterface | undefined;
  recordTicksHigh = 0;
  recordTicksLow = 0;
  recordCaptured = 0;
  recordWireLength = 0;
  recordDataAt = 0;

  /**
   * Read blocks up to the next packet record of a pcapng file and describe it in the record* fields: true, or
   * null at the end of the file, or NEED_MORE. Throws CaptureFileError like pcap_next_ex.
   */
  nextPcapngRecord(): true | null | typeof NEED_MORE {
    const v = this.window.view;
    for (;;) {
      const block = this.readBlock(true);
      if (block === NEED_MORE || block === null) return block;
      const le = this.littleEndian;
      let interfaceId: number;
      let caplen: number;
      let wireLength: number;
      let high = 0;
      let low = 0;
      switch (block) {
        case BT_EPB: {
          const at = this.claim(20, true);
          interfaceId = v.getUint32(at, le);
          high = v.getUint32(at + 4, le);
          low = v.getUint32(at + 8, le);
          caplen = v.getUint32(at + 12, le);
          wireLength = v.getUint32(at + 16, le);
          break;
        }
        case BT_SPB: {
          const at = this.claim(4, true);
          interfaceId = 0;
          wireLength = v.getUint32(at, le);
          caplen = wireLength > this.snapshot ? this.snapshot : wireLength;
          break;
        }
        case BT_PB: {
          const at = this.claim(20, true);
          interfaceId = v.getUint16(at, le);
          high = v.getUint32(at + 4, le);
          low = v.getUint32(at + 8, le);
          caplen = v.getUint32(at + 12, le);
          wireLength = v.getUint32(at + 16, le);
          break;
        }
        case BT_IDB: {
          const at = this.claim(8, true);
          const linkType = v.getUint16(at, le);
          const snaplen = v.getUint32(at + 4, le);
          if (linktypeToDlt(linkType) !== this.dlt) {
            throw new CaptureFileError(
              `an interface has a type ${linkType} different from the type of the first interface`,
              true,
            );
          }
          if (adjustSnapshot(this.dlt, snaplen) !== this.snapshot) {
            throw new CaptureFileError(
              `an interface has a snapshot length ${snaplen} different from the snapshot length of the first interface`,
              true,
            );
          }
          this.addInterface(linkType, true);
          continue;
        }
        case BT_SHB: {
          const at = this.claim(16, true);
          const byteOrderMagic = v.getUint32(at, le);
          if (byteOrderMagic !== PCAPNG_BYTE_ORDER_MAGIC) {
            throw new CaptureFileError(
              byteOrderMagic === 0x4d3c2b1a
                ? "the file has sections with different byte orders"
                : "the file has a section with a bad byte order magic field",
              true,
            );
          }
          const major = v.getUint16(at + 4, le);
          if (major !== 1) {
            throw new CaptureFileError(`unknown pcapng savefile major version number ${major}`, true);
          }
          // A new section numbers its interfaces from 0 again.
          this.sectionInterfaceCount = 0;
          this.sectionBase = this.interfaces.length;
          continue;
        }
        default:
          continue; // Unknown or uninteresting block: skip it.
      }
      if (interfaceId >= this.sectionInterfaceCount) {
        throw new CaptureFileError(
          `a packet arrived on interface ${interfaceId}, but there's no Interface Description Block for that interface`,
          true,
        );
      }
      if (caplen > this.snapshot) {
        throw new CaptureFileError(
          `invalid packet capture length ${caplen}, bigger than snaplen of ${this.snapshot}`,
          true,
        );
      }
      this.recordInterface = this.interfaces[this.sectionBase + interfaceId]!;
      this.recordDataAt = this.claim(caplen, true);
      this.recordCaptured = caplen;
      this.recordWireLength = wireLength;
      this.recordTicksHigh = high;
      this.recordTicksLow = low;
      return true;
    }
  }

  /** Whether the record nextPcapngRecord() found is an EPB with options after its data (see readPacketOptions). */
  recordHasOptions(): boolean {
    const dataAt = this.recordDataAt;
    const padded = (this.recordCaptured + 3) & ~3;
    if (this.blockType !== BT_EPB || this.cursorEnd - dataAt <= padded) return false;
    this.cursor = dataAt + padded;
    return true;
  }

  /**
   * EPB options kopi cares about: epb_flags (direction) and opt_comment. Malformed options are ignored, as
   * libpcap ignores them. Call right after recordHasOptions() answered true.
   */
  readPacketOptions(packet: CapturedPacket): void {
    const v = this.window.view;
    const le = this.littleEndian;
    while (this.cursorEnd - this.cursor >= 4) {
      const code = v.getUint16(this.cursor, le);
      const length = v.getUint16(this.cursor + 2, le);
      const valueAt = this.cursor + 4;
      if (code === OPT_ENDOFOPT || valueAt + length > this.cursorEnd) return;
      if (code === EPB_FLAGS && length === 4) {
        const bits = v.getUint32(valueAt, le) & 3;
        packet.direction = bits === 3 ? PacketDirection.Unknown : (bits as PacketDirection);
      } else if (code === OPT_COMMENT) {
        packet.comment = utf8.decode(this.window.bytes.subarray(valueAt, valueAt + length));
      }
      this.cursor = valueAt + ((length + 3) & ~3);
    }
  }
}

function isClassicMagic(magic: number): boolean {
  return magic === TCPDUMP_MAGIC || magic === KUZNETZOV_TCPDUMP_MAGIC || magic === NSEC_TCPDUMP_MAGIC;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * libpcap's pcapng timestamp conversion: 64-bit ticks → seconds (+ if_tsoffset) and a fraction, kept in
 * nanoseconds such that floor(ns / 1000) is exactly what libpcap reports at microsecond precision.
 */
export function setTimestamp(packet: { seconds: number; nanoseconds: number }, high: number, low: number, iface: CaptureInterface): void {
  const ticksPerSecond = iface.ticksPerSecond;
  const ticks = high * TWO_POW_32 + low;
  if (ticks < TWO_POW_53 && (ticksPerSecond === 1e6 || ticksPerSecond === 1e9)) {
    const fraction = ticks % ticksPerSecond;
    packet.seconds = (ticks - fraction) / ticksPerSecond + iface.secondsOffset;
    packet.nanoseconds = ticksPerSecond === 1e6 ? fraction * 1000 : fraction;
    return;
  }
  const exactTicks = (BigInt(high) << 32n) | BigInt(low);
  const resolution = BigInt(ticksPerSecond);
  const fraction = exactTicks % resolution;
  packet.seconds = Number(exactTicks / resolution) + iface.secondsOffset;
  packet.nanoseconds = Number((fraction * 1_000_000_000n) / resolution);
}
