// `fhash` (overlay-isa/opcodes.ts 0xac): a flow's hash, for per-flow queues (sfq, fq_codel). murmur3's fmix64
// folds each part of the flow in turn; the seed is the program's perturbation.
import { F_PKT_HDRS, F_IP_SRC, F_IP_DST, F_IP6_SRC, F_IP6_DST, F_L4_PROTO, F_L4_SPORT, F_L4_DPORT, HDR_IPV4, HDR_IPV6 } from "./isa.generated";
import { slotAddr } from "./memory-map";

// @ts-ignore: decorator
@inline function get(slot: i32): u64 {
  return load<u64>(slotAddr(slot));
}

// @ts-ignore: decorator
@inline function fmix64(x: u64): u64 {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccd;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53;
  x ^= x >> 33;
  return x;
}

/** `fhash`: the packet's flow (addresses, protocol, ports) mixed with a perturbation; 0 for a non-IP packet. */
export function flowHash(seed: u64): u64 {
  const hdrs = get(F_PKT_HDRS);
  let h = fmix64(seed ^ 0x9e3779b97f4a7c15);
  if ((hdrs & <u64>HDR_IPV4) != 0) {
    h = fmix64(h ^ get(F_IP_SRC));
    h = fmix64(h ^ get(F_IP_DST));
  } else if ((hdrs & <u64>HDR_IPV6) != 0) {
    h = fmix64(h ^ get(F_IP6_SRC));
    h = fmix64(h ^ get(F_IP6_SRC + 1));
    h = fmix64(h ^ get(F_IP6_DST));
    h = fmix64(h ^ get(F_IP6_DST + 1));
  } else return 0;
  h = fmix64(h ^ ((get(F_L4_PROTO) << 32) | (get(F_L4_SPORT) << 16) | get(F_L4_DPORT)));
  return h & 0xffffffff;
}
