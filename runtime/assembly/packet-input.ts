// Per-packet side input the host may hand a batch beside the frames: the owner of each packet (the NIC's
// connection table: app id, uid, gid, pid, command id, cgroup id) and its timestamp. One 32-byte record per
// packet: u32 × 6 owner fields, u64 time in µs. Without side input a packet has no known owner (app, cmd and
// cgroup 0; uid, gid and pid all ones, values no owner match names) and time 0.
import { F_OWNER_APP, F_OWNER_UID, F_OWNER_GID, F_OWNER_PID, F_OWNER_CMD, F_OWNER_CGROUP } from "./isa.generated";
import { ensureMemory, alignUp } from "./heap";
import { slotAddr } from "./memory-map";
import { setNow } from "./ratelimit";
import { conntrackBefore, tracking } from "./conntrack";

export const SIDE_RECORD_BYTES: usize = 32;
let sideBase: usize = 0;
let sideCount: u32 = 0;

/** Forget the side input (a new batch is being prepared). */
export function clearSideInput(): void {
  sideBase = 0;
  sideCount = 0;
}

/** Reserve side input for `count` packets after `after` (the end of the batch's frames); 0 when out of memory. */
export function prepareSideInput(count: u32, after: usize): usize {
  const base = alignUp(after, 16);
  if (!ensureMemory(base + <usize>count * SIDE_RECORD_BYTES)) return 0;
  sideBase = base;
  sideCount = count;
  return base;
}

/** Set up the per-packet state of packet `i` before the program runs (`level`: the loader's header level). */
export function beforePacket(i: u32, frame: usize, cap: u32, level: i32): void {
  const rec = sideBase != 0 && i < sideCount ? sideBase + <usize>i * SIDE_RECORD_BYTES : 0;
  setNow(rec != 0 ? load<u64>(rec, 24) : 0);
  if (level < 2) return;
  if (rec != 0) {
    store<u64>(slotAddr(F_OWNER_APP), <u64>load<u32>(rec));
    store<u64>(slotAddr(F_OWNER_UID), <u64>load<u32>(rec, 4));
    store<u64>(slotAddr(F_OWNER_GID), <u64>load<u32>(rec, 8));
    store<u64>(slotAddr(F_OWNER_PID), <u64>load<u32>(rec, 12));
    store<u64>(slotAddr(F_OWNER_CMD), <u64>load<u32>(rec, 16));
    store<u64>(slotAddr(F_OWNER_CGROUP), <u64>load<u32>(rec, 20));
  } else {
    store<u64>(slotAddr(F_OWNER_APP), 0);
    store<u64>(slotAddr(F_OWNER_UID), 0xffffffff);
    store<u64>(slotAddr(F_OWNER_GID), 0xffffffff);
    store<u64>(slotAddr(F_OWNER_PID), 0xffffffff);
    store<u64>(slotAddr(F_OWNER_CMD), 0);
    store<u64>(slotAddr(F_OWNER_CGROUP), 0);
  }
  if (tracking) conntrackBefore(frame, cap);
}
