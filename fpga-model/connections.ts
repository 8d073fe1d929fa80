/**
 * The connection table: the NIC's exact-match steering table. Each open connection has a key — protocol, local
 * address and port, remote address and port — in an open-addressing hash table (as the table memories hash exact
 * keys), plus its rings and counters. A listening connection's key has the remote end zeroed, and a listener
 * bound to any address has the local address zeroed too. Raw connections (an AF_PACKET-like socket the kernel
 * allowed) have no key: they only transmit.
 *
 * Lookup for a packet, in this order (the first hit wins): the exact 5-tuple; a listener on (protocol, local
 * address, local port); a listener on (protocol, any address, local port). The local end is the destination of
 * an ingress packet and the source of an egress one, so a connection owns its traffic in both directions.
 * A packet that matches nothing is the fallback's: an accepted ingress packet goes to the kernel's own stack
 * (steer_fallback) and carries no owner.
 */
import { CONN_KIND, CONN_KIND_IPV6 } from "./registers.js";
import { RxRing, TxRing } from "./rings.js";

/** Words of a key: kind | proto << 8 | v6 << 16, local address (4), remote address (4), lport << 16 | rport. */
export const KEY_WORDS = 10;

export class Connection {
  readonly rx: RxRing;
  readonly tx: TxRing;
  /** words of the steering key (raw connections: the staged fields, not in the hash) */
  readonly key: Uint32Array;

  constructor(
    readonly id: number,
    /** distinguishes this connection from a later one that reuses the id (in-flight packets latch it) */
    readonly serial: number,
    readonly app: number,
    key: Uint32Array,
    rxSlots: number,
    txSlots: number,
  ) {
    this.key = Uint32Array.from(key);
    this.rx = new RxRing(rxSlots);
    this.tx = new TxRing(txSlots);
  }

  get kind(): number {
    return this.key[0]! & 0xff;
  }

  get proto(): number {
    return (this.key[0]! >>> 8) & 0xff;
  }

  get v6(): boolean {
    return (this.key[0]! & CONN_KIND_IPV6) !== 0;
  }

  get localPort(): number {
    return this.key[9]! >>> 16;
  }

  get remotePort(): number {
    return this.key[9]! & 0xffff;
  }

  /** Queue-memory bytes its rings occupy. */
  ringBytes(slotBytes: number): number {
    return (this.rx.capacity + this.tx.capacity) * slotBytes;
  }
}

/**
 * A packet's addresses and ports, as the steering stage extracts them (Ethernet, up to two VLAN tags, IPv4
 * without a fragment offset or IPv6, then TCP/UDP/SCTP ports). `ok` is false for anything else (ARP, …).
 */
export class Tuple {
  ok = false;
  v6 = false;
  proto = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  sport = 0;
  dport = 0;

  /** Parse `frame`; returns this.ok. */
  parse(frame: Uint8Array, linktype: number): boolean {
    this.ok = false;
    if (linktype !== 1 || frame.length < 14) return false;
    let off = 12;
    let type = (frame[off]! << 8) | frame[off + 1]!;
    for (let tags = 0; (type === 0x8100 || type === 0x88a8) && tags < 2 && off + 6 <= frame.length; tags++) {
      off += 4;
      type = (frame[off]! << 8) | frame[off + 1]!;
    }
    off += 2;
    let l4: number;
    if (type === 0x0800 && off + 20 <= frame.length) {
      const ihl = (frame[off]! & 0xf) * 4;
      if ((frame[off]! >> 4) !== 4 || ihl < 20) return false;
      this.v6 = false;
      this.proto = frame[off + 9]!;
      this.src[0] = this.src[1] = this.src[2] = 0;
      this.dst[0] = this.dst[1] = this.dst[2] = 0;
      this.src[3] = word(frame, off + 12);
      this.dst[3] = word(frame, off + 16);
      const fragOff = ((frame[off + 6]! & 0x1f) << 8) | frame[off + 7]!;
      l4 = fragOff === 0 ? off + ihl : -1;
    } else if (type === 0x86dd && off + 40 <= frame.length) {
      this.v6 = true;
      this.proto = frame[off + 6]!;
      for (let w = 0; w < 4; w++) {
        this.src[w] = word(frame, off + 8 + 4 * w);
        this.dst[w] = word(frame, off + 24 + 4 * w);
      }
      l4 = off + 40;
    } else return false;
    this.sport = 0;
    this.dport = 0;
    const p = this.proto;
    if ((p === 6 || p === 17 || p === 132) && l4 >= 0 && l4 + 4 <= frame.length) {
      this.sport = (frame[l4]! << 8) | frame[l4 + 1]!;
      this.dport = (frame[l4 + 2]! << 8) | frame[l4 + 3]!;
    }
    this.ok = true;
    return true;
  }
}

function word(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

const EMPTY = 0;

export class ConnectionTable {
  private readonly conns: (Connection | undefined)[];
  private readonly freeIds: number[] = [];
  private nextId = 1;
  private serials = 0;
  count = 0;
  /** hash slots: KEY_WORDS words each, plus the connection id (0 = empty) */
  private slotCount = 0;
  private keys: Uint32Array | undefined;
  private ids: Uint32Array | undefined;
  private readonly probe = new Uint32Array(KEY_WORDS);

  constructor(readonly capacity: number) {
    this.conns = new Array(capacity + 1);
  }

  get(id: number): Connection | undefined {
    return Number.isInteger(id) && id > 0 && id <= this.capacity ? this.conns[id] : undefined;
  }

  /** Open connections, in id order. */
  *all(): IterableIterator<Connection> {
    for (let i = 1; i <= this.capacity && i < this.nextId; i++) {
      const c = this.conns[i];
      if (c) yield c;
    }
  }

  /** The open connection whose steering key equals `key`, if any. */
  findKey(key: Uint32Array): number {
    if (!this.keys) return 0;
    let s = this.slotOf(key);
    for (;;) {
      const id = this.ids![s]!;
      if (id === EMPTY) return 0;
      if (this.keyAt(s, key)) return id;
      s = (s + 1) & (this.slotCount - 1);
    }
  }

  /**
   * Open a connection (the caller checked the key is free and the queue memory was allocated). Raw
   * connections get no steering key. Returns undefined when every id is taken.
   */
  open(app: number, key: Uint32Array, rxSlots: number, txSlots: number): Connection | undefined {
    if (this.count >= this.capacity) return undefined;
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.nextId++;
    const c = new Connection(id, ++this.serials, app, key, rxSlots, txSlots);
    this.conns[id] = c;
    this.count++;
    if (c.kind !== CONN_KIND.RAW) this.insertKey(c.key, id);
    return c;
  }

  close(id: number): Connection | undefined {
    const c = this.get(id);
    if (!c) return undefined;
    if (c.kind !== CONN_KIND.RAW) this.deleteKey(c.key);
    this.conns[id] = undefined;
    this.freeIds.push(id);
    this.count--;
    return c;
  }

  /**
   * The connection that owns a packet's tuple in direction `dir` (0 ingress: local = destination; 1 egress:
   * local = source), or 0.
   */
  lookup(t: Tuple, dir: 0 | 1): number {
    if (!t.ok || this.count === 0 || !this.keys) return 0;
    const local = dir === 0 ? t.dst : t.src;
    const remote = dir === 0 ? t.src : t.dst;
    const lport = dir === 0 ? t.dport : t.sport;
    const rport = dir === 0 ? t.sport : t.dport;
    const k = this.probe;
    const head = (t.proto << 8) | (t.v6 ? CONN_KIND_IPV6 : 0);
    k[0] = CONN_KIND.EXACT | head;
    k[1] = local[0]!;
    k[2] = local[1]!;
    k[3] = local[2]!;
    k[4] = local[3]!;
    k[5] = remote[0]!;
    k[6] = remote[1]!;
    k[7] = remote[2]!;
    k[8] = remote[3]!;
    k[9] = ((lport << 16) | rport) >>> 0;
    let id = this.findKey(k);
    if (id) return id;
    k[0] = CONN_KIND.LISTEN | head;
    k[5] = k[6] = k[7] = k[8] = 0;
    k[9] = (lport << 16) >>> 0;
    id = this.findKey(k);
    if (id) return id;
    k[1] = k[2] = k[3] = k[4] = 0;
    return this.findKey(k);
  }

  /**
   * Whether connection `c` may transmit `frame` (parsed into the scratch `t`): an exact connection only its own
   * 5-tuple, a listener only from its port (and address, if bound), and no connection — raw ones included — a
   * TCP/UDP tuple that another application's connection owns. A frame that is not IP may leave a raw socket
   * (ARP, LLDP …: the egress policy decides); anything shorter than an Ethernet header may not.
   */
  mayTransmit(c: Connection, frame: Uint8Array, t: Tuple): boolean {
    if (frame.length < 14) return false;
    t.parse(frame, 1);
    if (c.kind === CONN_KIND.EXACT || c.kind === CONN_KIND.LISTEN) {
      if (!t.ok || t.proto !== c.proto || t.v6 !== c.v6 || t.sport !== c.localPort) return false;
      const anyLocal = c.key[1] === 0 && c.key[2] === 0 && c.key[3] === 0 && c.key[4] === 0;
      for (let w = 0; w < 4; w++) if (!anyLocal && t.src[w] !== c.key[1 + w]) return false;
      if (c.kind === CONN_KIND.EXACT) {
        if (t.dport !== c.remotePort) return false;
        for (let w = 0; w < 4; w++) if (t.dst[w] !== c.key[5 + w]) return false;
        return true;
      }
    }
    if (!t.ok) return true;
    const owner = this.lookup(t, 1);
    return owner === 0 || owner === c.id || this.get(owner)!.app === c.app;
  }

  // ---- the hash table ------------------------------------------------------------------------------------

  private ensureTable(): void {
    if (this.keys) return;
    // 2^k ≥ 4/3 × capacity slots, as the exact table memories are sized (fpga-model/README.md)
    let n = 1;
    while (n < Math.ceil((this.capacity * 4) / 3)) n *= 2;
    this.slotCount = n;
    this.keys = new Uint32Array(n * KEY_WORDS);
    this.ids = new Uint32Array(n);
  }

  private slotOf(key: Uint32Array): number {
    // FNV-1a over the key words, then a final mix; the hash a table memory would compute in one cycle
    let h = 0x811c9dc5;
    for (let i = 0; i < KEY_WORDS; i++) {
      h ^= key[i]!;
      h = Math.imul(h, 0x01000193);
    }
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return (h >>> 0) & (this.slotCount - 1);
  }

  private keyAt(slot: number, key: Uint32Array): boolean {
    const keys = this.keys!;
    const base = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (keys[base + i] !== key[i]) return false;
    return true;
  }

  private insertKey(key: Uint32Array, id: number): void {
    this.ensureTable();
    let s = this.slotOf(key);
    while (this.ids![s] !== EMPTY) s = (s + 1) & (this.slotCount - 1);
    this.keys!.set(key, s * KEY_WORDS);
    this.ids![s] = id;
  }

  /** Remove a key, shifting later entries of its probe run back (no tombstones: lookups stay short). */
  private deleteKey(key: Uint32Array): void {
    if (!this.keys) return;
    const mask = this.slotCount - 1;
    let s = this.slotOf(key);
    for (;;) {
      if (this.ids![s] === EMPTY) return;
      if (this.keyAt(s, key)) break;
      s = (s + 1) & mask;
    }
    const keys = this.keys;
    const ids = this.ids!;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      if (ids[j] === EMPTY) break;
      const home = this.slotOf(keys.subarray(j * KEY_WORDS, j * KEY_WORDS + KEY_WORDS));
      // move j into the hole unless its home lies cyclically in (hole, j]
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      keys.copyWithin(hole * KEY_WORDS, j * KEY_WORDS, j * KEY_WORDS + KEY_WORDS);
      ids[hole] = ids[j]!;
      hole = j;
    }
    ids[hole] = EMPTY;
    keys.fill(0, hole * KEY_WORDS, hole * KEY_WORDS + KEY_WORDS);
  }
}
