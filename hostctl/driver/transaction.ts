/**
 * Register transactions: an ordered list of 32-bit reads and writes that the NIC executes as one unit — no other
 * host's access interleaves — and that stops at the first access the device refuses. Both transports (the
 * in-process NIC and the daemon's socket) run them with executeTransaction, so a transaction means the same
 * thing whichever way it travels. The binary encoding is the socket protocol's (hostctl/daemon/PROTOCOL.md).
 */
import { KERNEL, type NicDevice } from "../../fpga-model/nic-device.js";
import { ERR, REG } from "../../fpga-model/registers.js";

export const OP_READ = 0;
export const OP_WRITE = 1;
/** Bytes of one encoded access: u8 kind, u32 offset, u32 value (0 for reads), little-endian. */
export const OP_BYTES = 9;

export interface RegisterError {
  /** index of the refused access in the transaction */
  index: number;
  offset: number;
  code: number;
  arg0: number;
  arg1: number;
}

export interface TransactionResult {
  /** values of the reads, in order, up to the refused access */
  reads: number[];
  /** accesses executed (including a refused one) */
  executed: number;
  writes: number;
  error?: RegisterError;
}

/** A transaction under construction: accesses in order, plus where each read's value will land. */
export class Transaction {
  private readonly kinds: number[] = [];
  private readonly offsets: number[] = [];
  private readonly values: number[] = [];
  private writeCount = 0;

  read(offset: number): number {
    this.kinds.push(OP_READ);
    this.offsets.push(offset);
    this.values.push(0);
    return this.kinds.length - 1;
  }

  write(offset: number, value: number): this {
    this.kinds.push(OP_WRITE);
    this.offsets.push(offset);
    this.values.push(value >>> 0);
    this.writeCount++;
    return this;
  }

  get length(): number {
    return this.kinds.length;
  }

  get writes(): number {
    return this.writeCount;
  }

  get reads(): number {
    return this.kinds.length - this.writeCount;
  }

  /** Index among the reads of the access at `index` (read() returned the access index). */
  readSlot(index: number): number {
    let n = 0;
    for (let i = 0; i < index; i++) if (this.kinds[i] === OP_READ) n++;
    return n;
  }

  encode(): Uint8Array {
    const bytes = new Uint8Array(this.kinds.length * OP_BYTES);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.kinds.length; i++) {
      const at = i * OP_BYTES;
      view.setUint8(at, this.kinds[i]!);
      view.setUint32(at + 1, this.offsets[i]!, true);
      view.setUint32(at + 5, this.values[i]!, true);
    }
    return bytes;
  }
}

/** Decode a transaction body; undefined (with the reason) when it is malformed. */
export function decodeTransaction(body: Uint8Array): { ops: { kind: number; offset: number; value: number }[] } | { error: string } {
  if (body.length % OP_BYTES !== 0) return { error: `transaction body of ${body.length} bytes is not a whole number of ${OP_BYTES}-byte accesses` };
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const ops: { kind: number; offset: number; value: number }[] = [];
  for (let at = 0; at < body.length; at += OP_BYTES) {
    const kind = view.getUint8(at);
    if (kind !== OP_READ && kind !== OP_WRITE) return { error: `access ${at / OP_BYTES}: kind ${kind} is neither read (0) nor write (1)` };
    const value = view.getUint32(at + 5, true);
    if (kind === OP_READ && value !== 0) return { error: `access ${at / OP_BYTES}: a read carries value ${value}, must be 0` };
    ops.push({ kind, offset: view.getUint32(at + 1, true), value });
  }
  return { ops };
}

/**
 * Run accesses on the device as `requester` (KERNEL or an application id). Stops at the first refused access;
 * for the kernel the error's details come from ERROR_CODE/ARG, for an application (which cannot read them) the
 * code is PRIVILEGE when it reached outside its page, else BAD_VALUE.
 */
export function executeTransaction(device: NicDevice, ops: readonly { kind: number; offset: number; value: number }[], requester = KERNEL): TransactionResult {
  const reads: number[] = [];
  let writes = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    let refused: boolean;
    if (requester === KERNEL) {
      const before = device.read32(REG.ERROR_COUNT);
      if (op.kind === OP_READ) reads.push(device.read32(op.offset));
      else {
        device.write32(op.offset, op.value);
        writes++;
      }
      refused = device.read32(REG.ERROR_COUNT) !== before;
      if (refused) {
        return {
          reads,
          executed: i + 1,
          writes,
          error: { index: i, offset: op.offset, code: device.read32(REG.ERROR_CODE), arg0: device.read32(REG.ERROR_ARG0), arg1: device.read32(REG.ERROR_ARG1) },
        };
      }
    } else {
      // its own page, or the page of a connection it owns (the pages the kernel maps into it)
      const inside = device.mapsOffset(requester, op.offset);
      if (op.kind === OP_READ) {
        reads.push(device.read32(op.offset, requester));
        refused = !inside;
      } else {
        refused = !device.write32(op.offset, op.value, requester);
        writes++;
      }
      if (refused) return { reads, executed: i + 1, writes, error: { index: i, offset: op.offset, code: inside ? ERR.BAD_VALUE : ERR.PRIVILEGE, arg0: op.offset, arg1: requester } };
    }
  }
  return { reads, executed: ops.length, writes };
}
