/**
 * The code generator: walks the syntax tree left to right, as libpcap's parser reduces it, and builds the
 * intermediate form (ir.ts) with the same tests, in the same order, at the same packet offsets as libpcap
 * 1.10.3's gencode.c. State that libpcap keeps while parsing is kept the same way: `vlan`, `mpls`, `pppoes` and
 * `geneve` move the header offsets for everything parsed after them, even across `or` and `not`.
 *
 * Errors are libpcap's, raised as GenError at the syntax node that caused them.
 */
import type { Arith, Expr, Id, Other, Proto, Qual, Span } from "./ast.js";
import { QERR } from "./ast.js";
import { GenError } from "./errors.js";
import { and, bin, FALSE, k, LEN, load, not, or, test, TRUE, type Cond, type JumpOp, type LoadForm, type Val } from "./ir.js";
import { DLT, describeLinktype, dltOf, layoutOf, OFFSET_NOT_SET } from "./linktypes.js";
import {
  atodn, atoin, etherAton, IPPROTO, ipv6Bytes, nameToAddresses, nameToEtherProto, nameToLlc, nameToNetAddr, nameToPort,
  nameToPortRange, nameToProto, PROTO_UNDEF,
} from "./resolve.js";

export const PCAP_NETMASK_UNKNOWN = 0xffffffff;

export interface GenOptions {
  linktype: number;
  /** the IPv4 netmask `ip broadcast` needs; PCAP_NETMASK_UNKNOWN refuses `ip broadcast` like libpcap */
  netmask: number;
  /**
   * true (the default) compiles as libpcap does for a capture file: `inbound`/`outbound`/`ifindex` are refused on
   * link types without a direction field, and loopback IPv6 matches all three BSD AF_INET6 values; false compiles
   * for a live NIC capture, where direction and port come from the NIC's packet metadata.
   */
  savefile: boolean;
}

export interface GenResult {
  cond: Cond;
  /** libpcap turns its optimizer off for `protochain` and `geneve` (their code has jumps it cannot analyse) */
  optimize: boolean;
  /** number of offset variables (`seq` targets) the program uses */
  vars: number;
}

// Ethernet types, LLC SAPs and friends (libpcap's ethertype.h, llc.h, ppp.h, nlpid.h).
const ET = {
  IP: 0x0800, ARP: 0x0806, REVARP: 0x8035, ATALK: 0x809b, AARP: 0x80f3, DN: 0x6003, SCA: 0x6007, LAT: 0x6004,
  MOPDL: 0x6001, MOPRC: 0x6002, IPV6: 0x86dd, IPX: 0x8137, VLAN: 0x8100, QINQ_AD: 0x88a8, QINQ_OLD: 0x9100,
  MPLS: 0x8847, PPPOED: 0x8863, PPPOES: 0x8864, NS: 0x0600, TEB: 0x6558,
} as const;
const SAP = { ISONS: 0xfe, IP: 0x06, NETBEUI: 0xf0, IPX: 0xe0, STP: 0x42, SNAP: 0xaa } as const;
const ETHERMTU = 1500;
const PPP = { IP: 0x0021, IPV6: 0x0057, DECNET: 0x0027, APPLE: 0x0029, NS: 0x0025, OSI: 0x0023, BRPDU: 0x0031, IPX: 0x002b, MPLS_UCAST: 0x0281 } as const;
const ISO = { CLNP: 0x81, ESIS: 0x82, ISIS: 0x83 } as const;
const ISIS = { L1_LAN_IIH: 15, L2_LAN_IIH: 16, PTP_IIH: 17, L1_LSP: 18, L2_LSP: 20, L1_CSNP: 24, L2_CSNP: 25, L1_PSNP: 26, L2_PSNP: 27 } as const;
const SLL = { P_802_3: 0x0001, P_802_2: 0x0004, OUTGOING: 4 } as const;
const IPPROTO_FULL = { ICMP: 1, IGMP: 2, IGRP: 9, PIM: 103, VRRP: 112, CARP: 112, ICMPV6: 58, AH: 51, ESP: 50, FRAGMENT: 44 } as const;
const GENEVE_PORT = 6081;
/** libpcap's message when an address or number follows nothing that says what it is */
const NO_QUALIFIER = "syntax error in filter expression: nothing says what this is (use host, net, port, proto …)";
const BPF_MEMWORDS = 16;

const LLC_S_SUBTYPES: Readonly<Record<string, number>> = { rr: 0x01, rnr: 0x05, rej: 0x09 };
const LLC_U_SUBTYPES: Readonly<Record<string, number>> = { ui: 0x03, ua: 0x63, disc: 0x43, dm: 0x0f, sabme: 0x6f, test: 0xe3, xid: 0xaf, frmr: 0x87 };

/** Offset relative-to bases (libpcap's e_offrel). */
type OffRel = "packet" | "linkhdr" | "llc" | "prevmplshdr" | "linktype" | "linkpl" | "linkpl_nosnap" | "tran_ipv4" | "tran_ipv6";

/** An absolute offset: a constant, plus the run-time value of a variable when the header position varies. */
interface AbsOffset {
  constant: number;
  variable?: number;
}

/** Keyword of a protocol qualifier as users write it, for messages. */
const PROTO_WORD: Readonly<Record<Proto, string>> = {
  LINK: "link", IP: "ip", ARP: "arp", RARP: "rarp", SCTP: "sctp", TCP: "tcp", UDP: "udp", ICMP: "icmp", IGMP: "igmp",
  IGRP: "igrp", PIM: "pim", VRRP: "vrrp", CARP: "carp", ATALK: "atalk", AARP: "aarp", DECNET: "decnet", LAT: "lat",
  SCA: "sca", MOPDL: "mopdl", MOPRC: "moprc", IPV6: "ip6", ICMPV6: "icmp6", AH: "ah", ESP: "esp", ISO: "iso",
  ESIS: "esis", ISIS: "isis", L1: "l1", L2: "l2", IIH: "iih", LSP: "lsp", SNP: "snp", PSNP: "psnp", CSNP: "csnp",
  CLNP: "clnp", STP: "stp", IPX: "ipx", NETBEUI: "netbeui", RADIO: "radio",
};

/** An arithmetic value under construction (libpcap's struct arth). */
interface ArthVal {
  v: Val;
  /** protocol checks that must pass before the value may be computed */
  cond?: Cond;
  /** libpcap's scratch register holding the value (emulated, for its "too many registers" limit) */
  reg: number;
  /** the first statement of its code, when that is a constant load (libpcap checks it for division by 0) */
  firstImm?: number;
}

export class CodeGenerator {
  private linktype: number;
  private linkhdr: AbsOffset = { constant: 0 };
  private linkpl: AbsOffset;
  private linktypeOff: AbsOffset;
  private nl: number;
  private nlNosnap: number;
  private labelStackDepth = 0;
  private isGeneve = false;
  private optimize = true;
  private vars = 0;
  private readonly regsUsed = new Array<boolean>(BPF_MEMWORDS).fill(false);
  private curReg = 0;
  /** where errors are reported (the node being generated) */
  private at = 0;

  constructor(private readonly opts: GenOptions) {
    const dlt = dltOf(opts.linktype);
    const layout = layoutOf(dlt);
    if (!layout) throw new GenError(0, `unsupported link type ${opts.linktype}`);
    this.linktype = dlt;
    this.linkpl = { constant: layout.linkpl };
    this.linktypeOff = { constant: layout.linktype };
    this.nl = layout.nl;
    this.nlNosnap = layout.nlNosnap;
  }

  generate(tree: Expr | undefined): GenResult {
    const cond = tree ? this.expr(tree, QERR).c : TRUE;
    return { cond, optimize: this.optimize, vars: this.vars };
  }

  private error(message: string, span?: Span): never {
    throw new GenError(span ? span.start : this.at, message);
  }

  private locate(span: Span): void {
    this.at = span.start;
  }

  // ---- libpcap's scratch-register allocator, kept only for its limit -----------------------------------------
  private allocReg(): number {
    for (let n = 0; n < BPF_MEMWORDS; n++) {
      if (!this.regsUsed[this.curReg]) {
        this.regsUsed[this.curReg] = true;
        return this.curReg;
      }
      this.curReg = (this.curReg + 1) % BPF_MEMWORDS;
    }
    this.error("too many registers needed to evaluate expression");
  }

  private freeReg(n: number): void {
    this.regsUsed[n] = false;
  }

  private newVar(): number {
    return this.vars++;
  }

  // ---- walking the tree --------------------------------------------------------------------------------------
  /** Generate an expression; `ctx` is the qualifier in scope before it (yacc's $<blk>0), returns its own. */
  private expr(e: Expr, ctx: Qual): { c: Cond; q: Qual } {
    switch (e.k) {
      case "and":
      case "or": {
        const left = this.expr(e.left, ctx);
        let right: { c: Cond; q: Qual };
        if ("id" in e.right && e.right.k === "id") right = { c: this.id(e.right.id, left.q), q: left.q };
        else right = this.expr(e.right as Expr, left.q);
        return { c: e.k === "and" ? and(left.c, right.c) : or(left.c, right.c), q: right.q };
      }
      case "not": {
        const inner = this.expr(e.operand, ctx);
        return { c: not(inner.c), q: inner.q };
      }
      case "head":
        return { c: this.id(e.id, e.qual), q: e.qual };
      case "paren":
        return { c: this.expr(e.inner, ctx).c, q: ctx };
      case "pname":
        this.locate(e.span);
        return { c: this.protoAbbrev(e.proto), q: QERR };
      case "rel":
        return { c: this.relation(e), q: QERR };
      case "other":
        this.locate(e.span);
        return { c: this.other(e.other), q: QERR };
    }
  }

  /** An address-like operand under qualifiers `q` (grammar.y's nid/pnum/pid actions). */
  private id(id: Id, q: Qual): Cond {
    this.locate(id.span);
    switch (id.k) {
      case "name":
        return this.scode(id.text, q);
      case "num":
        return this.ncode(undefined, id.value, q);
      case "hid":
        this.checkAddrQualifier(q, "IP address", "IP address");
        return this.ncode(id.text, 0, q);
      case "hidLen":
        this.checkAddrQualifier(q, "IP address and prefix length", "IP address and prefix length");
        return this.mcode(id.text, undefined, id.len, q);
      case "hidMask":
        this.checkAddrQualifier(q, "IP address and netmask", "IP address and netmask");
        return this.mcode(id.text, id.mask, 0, q);
      case "hid6":
        this.checkAddrQualifier(q, "IP address", "'ip6addr/prefixlen");
        return this.mcode6(id.text, 128, q);
      case "hid6Len":
        this.checkAddrQualifier(q, "IP address and prefix length", "IP address and prefix length ");
        return this.mcode6(id.text, id.len, q);
      case "eid":
        return this.ecode(id.text, q);
      case "aid":
        return this.error("aid supported only on ARCnet");
      case "notId":
        return not(this.id(id.operand, q));
      case "idList": {
        let c = this.id(id.first, q);
        for (const r of id.rest) {
          const next = this.id(r.id, q);
          c = r.op === "and" ? and(c, next) : or(c, next);
        }
        return c;
      }
    }
  }

  private checkAddrQualifier(q: Qual, what: string, protoWhat: string): void {
    if (q.addr === "PORT") this.error(`'port' modifier applied to ${what}`);
    if (q.addr === "PORTRANGE") this.error(`'portrange' modifier applied to ${what}`);
    if (q.addr === "PROTO") this.error(`'proto' modifier applied to ${protoWhat}`);
    if (q.addr === "PROTOCHAIN") this.error(`'protochain' modifier applied to ${what}`);
  }

  // ---- loads -------------------------------------------------------------------------------------------------
  private absLoad(base: AbsOffset, offset: number, size: 1 | 2 | 4): Val {
    const off = (base.constant + offset) >>> 0;
    return base.variable !== undefined ? load(size, off, { t: "var", id: base.variable }, "ind") : load(size, off);
  }

  /** gen_loadx_iphdrlen: the IPv4 header length, plus the variable part of the payload offset if any. */
  private ipHeaderLength(): Val {
    const off = (this.linkpl.constant + this.nl) >>> 0;
    if (this.linkpl.variable !== undefined) {
      const v: Val = { t: "var", id: this.linkpl.variable };
      return bin("add", bin("lsh", bin("and", load(1, off, v, "ind"), k(0xf)), k(2)), v);
    }
    return bin("lsh", bin("and", load(1, off, undefined, "abs"), k(0xf)), k(2));
  }

  private loadA(rel: OffRel, offset: number, size: 1 | 2 | 4): Val {
    switch (rel) {
      case "packet":
        return load(size, offset);
      case "linkhdr":
        return this.absLoad(this.linkhdr, offset, size);
      case "llc":
        return this.absLoad(this.linkpl, offset, size);
      case "prevmplshdr":
        return this.absLoad(this.linkpl, this.nl - 4 + offset, size);
      case "linkpl":
        return this.absLoad(this.linkpl, this.nl + offset, size);
      case "linkpl_nosnap":
        return this.absLoad(this.linkpl, this.nlNosnap + offset, size);
      case "linktype":
        return this.absLoad(this.linktypeOff, offset, size);
      case "tran_ipv4":
        return load(size, this.linkpl.constant + this.nl + offset, this.ipHeaderLength(), "ind");
      case "tran_ipv6":
        return this.absLoad(this.linkpl, this.nl + 40 + offset, size);
    }
  }

  /** gen_ncmp: (field & mask) OP v, with `reverse` negating only > and >= (as libpcap does). */
  private ncmp(rel: OffRel, offset: number, size: 1 | 2 | 4, mask: number, op: JumpOp, reverse: boolean, v: number): Cond {
    let a = this.loadA(rel, offset, size);
    if (mask >>> 0 !== 0xffffffff) a = bin("and", a, k(mask));
    const c = test(a, op, v >>> 0);
    return reverse && (op === "jgt" || op === "jge") ? not(c) : c;
  }

  private cmp(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Cond {
    return this.ncmp(rel, offset, size, 0xffffffff, "jeq", false, v);
  }

  private mcmp(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number, mask: number): Cond {
    return this.ncmp(rel, offset, size, mask, "jeq", false, v);
  }

  private cmpGt(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Cond {
    return this.ncmp(rel, offset, size, 0xffffffff, "jgt", false, v);
  }

  private cmpGe(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Cond {
    return this.ncmp(rel, offset, size, 0xffffffff, "jge", false, v);
  }

  private cmpLt(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Cond {
    return this.ncmp(rel, offset, size, 0xffffffff, "jge", true, v);
  }

  private cmpLe(rel: OffRel, offset: number, size: 1 | 2 | 4, v: number): Cond {
    return this.ncmp(rel, offset, size, 0xffffffff, "jgt", true, v);
  }

  /** gen_bcmp: compare bytes, 4 at a time from the end, then 2, then 1. */
  private bcmp(rel: OffRel, offset: number, bytes: Uint8Array): Cond {
    let size = bytes.length;
    let c: Cond | undefined;
    const add = (t: Cond) => {
      c = c ? and(c, t) : t;
    };
    while (size >= 4) {
      const p = size - 4;
      add(this.cmp(rel, offset + p, 4, ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0));
      size -= 4;
    }
    while (size >= 2) {
      const p = size - 2;
      add(this.cmp(rel, offset + p, 2, (bytes[p]! << 8) | bytes[p + 1]!));
      size -= 2;
    }
    if (size > 0) add(this.cmp(rel, offset, 1, bytes[0]!));
    return c!;
  }

  // ---- link-layer type tests ---------------------------------------------------------------------------------
  private linktypeTest(llProto: number): Cond {
    if (this.labelStackDepth > 0) return this.mplsLinktype(llProto);
    switch (this.linktype) {
      case DLT.EN10MB: {
        const prev = this.isGeneve ? undefined : this.prevLinkhdrCheck();
        const c = this.etherLinktype(llProto);
        return prev ? and(prev, c) : c;
      }
      case DLT.LINUX_SLL:
        return this.sllLinktype(llProto);
      case DLT.RAW:
        if (llProto === ET.IP) return this.mcmp("linkhdr", 0, 1, 0x40, 0xf0);
        if (llProto === ET.IPV6) return this.mcmp("linkhdr", 0, 1, 0x60, 0xf0);
        return FALSE;
      case DLT.IPV4:
        return llProto === ET.IP ? TRUE : FALSE;
      case DLT.IPV6:
        return llProto === ET.IPV6 ? TRUE : FALSE;
      case DLT.PPP:
        return this.cmp("linktype", 0, 2, ethertypeToPpp(llProto));
      case DLT.NULL:
        if (llProto === ET.IP) return this.loopbackLinktype(2);
        if (llProto === ET.IPV6) {
          if (!this.opts.savefile) return this.loopbackLinktype(10); // Linux's AF_INET6
          return or(or(this.loopbackLinktype(24), this.loopbackLinktype(28)), this.loopbackLinktype(30));
        }
        return FALSE;
      default:
        // DLT_LINUX_SLL2 and others with a type field: assume it holds an Ethernet type
        if (this.linktypeOff.constant !== OFFSET_NOT_SET) return this.cmp("linktype", 0, 2, llProto);
        return this.error(`${describeLinktype(this.linktype)} link-layer type filtering not implemented`);
    }
  }

  /** The AF_ value in host byte order (the oracle machine is little-endian), loaded as a big-endian word. */
  private loopbackLinktype(af: number): Cond {
    const hostOrder = (((af & 0xff) << 24) | ((af & 0xff00) << 8) | ((af >>> 8) & 0xff00) | ((af >>> 24) & 0xff)) >>> 0;
    return this.cmp("linkhdr", 0, 4, hostOrder);
  }

  private etherLinktype(llProto: number): Cond {
    switch (llProto) {
      case SAP.ISONS:
      case SAP.IP:
      case SAP.NETBEUI:
        return and(not(this.cmpGt("linktype", 0, 2, ETHERMTU)), this.cmp("llc", 0, 2, (llProto << 8) | llProto));
      case SAP.IPX: {
        let b1 = or(this.cmp("llc", 0, 1, SAP.IPX), this.cmp("llc", 0, 2, 0xffff));
        b1 = or(this.snap(0x000000, ET.IPX), b1);
        b1 = and(not(this.cmpGt("linktype", 0, 2, ETHERMTU)), b1);
        return or(this.cmp("linktype", 0, 2, ET.IPX), b1);
      }
      case ET.ATALK:
      case ET.AARP: {
        const b0 = not(this.cmpGt("linktype", 0, 2, ETHERMTU));
        const b1 = and(b0, llProto === ET.ATALK ? this.snap(0x080007, ET.ATALK) : this.snap(0x000000, ET.AARP));
        return or(this.cmp("linktype", 0, 2, llProto), b1);
      }
      default:
        if (llProto <= ETHERMTU) return and(not(this.cmpGt("linktype", 0, 2, ETHERMTU)), this.cmp("linktype", 2, 1, llProto));
        return this.cmp("linktype", 0, 2, llProto);
    }
  }

  private sllLinktype(llProto: number): Cond {
    switch (llProto) {
      case SAP.ISONS:
      case SAP.IP:
      case SAP.NETBEUI:
        return and(this.cmp("linktype", 0, 2, SLL.P_802_2), this.cmp("llc", 0, 2, (llProto << 8) | llProto));
      case SAP.IPX: {
        let b1 = or(this.cmp("llc", 0, 1, SAP.IPX), this.snap(0x000000, ET.IPX));
        b1 = and(this.cmp("linktype", 0, 2, SLL.P_802_2), b1);
        b1 = or(this.cmp("linktype", 0, 2, SLL.P_802_3), b1);
        return or(this.cmp("linktype", 0, 2, ET.IPX), b1);
      }
      case ET.ATALK:
      case ET.AARP: {
        const b1 = and(this.cmp("linktype", 0, 2, SLL.P_802_2), llProto === ET.ATALK ? this.snap(0x080007, ET.ATALK) : this.snap(0x000000, ET.AARP));
        return or(this.cmp("linktype", 0, 2, llProto), b1);
      }
      default:
        if (llProto <= ETHERMTU) return and(this.cmp("linktype", 0, 2, SLL.P_802_2), this.cmp("linkhdr", this.linkpl.constant, 1, llProto));
        return this.cmp("linktype", 0, 2, llProto);
    }
  }

  private mplsLinktype(llProto: number): Cond {
    if (llProto === ET.IP || llProto === ET.IPV6) {
      const bos = this.mcmp("linkpl", -2, 1, 0x01, 0x01);
      return and(bos, this.mcmp("linkpl", 0, 1, llProto === ET.IP ? 0x40 : 0x60, 0xf0));
    }
    return this.error("unsupported protocol over mpls");
  }

  private snap(orgcode: number, ptype: number): Cond {
    const bytes = Uint8Array.from([SAP.SNAP, SAP.SNAP, 0x03, orgcode >>> 16, orgcode >>> 8, orgcode, ptype >>> 8, ptype].map((b) => b & 0xff));
    return this.bcmp("llc", 0, bytes);
  }

  private prevLinkhdrCheck(): Cond | undefined {
    if (this.isGeneve) return this.geneveLinkCheck();
    return undefined;
  }

  // ---- LLC ---------------------------------------------------------------------------------------------------
  private llcBase(): Cond {
    if (this.linktype === DLT.EN10MB) return and(not(this.cmpGt("linktype", 0, 2, ETHERMTU)), not(this.cmp("llc", 0, 2, 0xffff)));
    return this.error(`'llc' not supported for ${describeLinktype(this.linktype)}`);
  }

  private llc(sub: string | undefined): Cond {
    if (sub === undefined) return this.llcBase();
    const lower = sub.toLowerCase();
    if (lower === "i") return and(this.llcBase(), not(test(this.loadA("llc", 2, 1), "jset", 0x01)));
    if (lower === "s") return and(this.llcBase(), this.mcmp("llc", 2, 1, 0x01, 0x03));
    if (lower === "u") return and(this.llcBase(), this.mcmp("llc", 2, 1, 0x03, 0x03));
    if (LLC_S_SUBTYPES[lower] !== undefined) return and(this.llcBase(), this.mcmp("llc", 2, 1, LLC_S_SUBTYPES[lower]!, 0x0f));
    if (LLC_U_SUBTYPES[lower] !== undefined) return and(this.llcBase(), this.mcmp("llc", 2, 1, LLC_U_SUBTYPES[lower]!, 0xef));
    return this.error(`unknown LLC type name "${sub}"`);
  }

  // ---- hosts and networks ------------------------------------------------------------------------------------
  private hostop(addr: number, mask: number, dir: Qual["dir"], llProto: number, srcOff: number, dstOff: number): Cond {
    switch (dir) {
      case "SRC":
      case "DST":
        return and(this.linktypeTest(llProto), this.mcmp("linkpl", dir === "SRC" ? srcOff : dstOff, 4, addr, mask));
      case "AND":
        return and(this.hostop(addr, mask, "SRC", llProto, srcOff, dstOff), this.hostop(addr, mask, "DST", llProto, srcOff, dstOff));
      case "default":
      case "OR":
        return or(this.hostop(addr, mask, "SRC", llProto, srcOff, dstOff), this.hostop(addr, mask, "DST", llProto, srcOff, dstOff));
      default:
        return this.error(wlanQualifierError(dir, "are not valid qualifiers for addresses other than 802.11 MAC addresses", "is not a valid qualifier for addresses other than 802.11 MAC addresses"));
    }
  }

  private hostop6(addr: Uint8Array, mask: Uint8Array, dir: Qual["dir"], srcOff: number, dstOff: number): Cond {
    switch (dir) {
      case "SRC":
      case "DST": {
        const off = dir === "SRC" ? srcOff : dstOff;
        const word = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
        let c = this.mcmp("linkpl", off + 12, 4, word(addr, 12), word(mask, 12));
        c = and(this.mcmp("linkpl", off + 8, 4, word(addr, 8), word(mask, 8)), c);
        c = and(this.mcmp("linkpl", off + 4, 4, word(addr, 4), word(mask, 4)), c);
        c = and(this.mcmp("linkpl", off, 4, word(addr, 0), word(mask, 0)), c);
        return and(this.linktypeTest(ET.IPV6), c);
      }
      case "AND":
        return and(this.hostop6(addr, mask, "SRC", srcOff, dstOff), this.hostop6(addr, mask, "DST", srcOff, dstOff));
      case "default":
      case "OR":
        return or(this.hostop6(addr, mask, "SRC", srcOff, dstOff), this.hostop6(addr, mask, "DST", srcOff, dstOff));
      default:
        return this.error(wlanQualifierError(dir, "are not valid qualifiers for addresses other than 802.11 MAC addresses", "is not a valid qualifier for addresses other than 802.11 MAC addresses"));
    }
  }

  private host(addr: number, mask: number, proto: Qual["proto"], dir: Qual["dir"], type: Qual["addr"]): Cond {
    const typestr = type === "NET" ? "net" : "host";
    switch (proto) {
      case "default": {
        let c = this.host(addr, mask, "IP", dir, type);
        if (this.labelStackDepth === 0) {
          c = or(c, this.host(addr, mask, "ARP", dir, type));
          c = or(c, this.host(addr, mask, "RARP", dir, type));
        }
        return c;
      }
      case "LINK":
        return this.error(`link-layer modifier applied to ${typestr}`);
      case "IP":
        return this.hostop(addr, mask, dir, ET.IP, 12, 16);
      case "RARP":
        return this.hostop(addr, mask, dir, ET.REVARP, 14, 24);
      case "ARP":
        return this.hostop(addr, mask, dir, ET.ARP, 14, 24);
      case "DECNET":
        return this.dnhostop(addr, dir);
      case "ATALK":
        return this.error("AppleTalk host filtering not implemented");
      case "LAT":
      case "SCA":
      case "MOPRC":
      case "MOPDL":
      case "ISO":
      case "IPX":
      case "AARP":
        return this.error(`${proto} host filtering not implemented`);
      case "IPV6":
        return this.error("'ip6' modifier applied to ip host");
      case "undef":
        return this.error("syntax error in filter expression");
      default:
        return this.error(`'${PROTO_WORD[proto]}' modifier applied to ${typestr}`);
    }
  }

  private host6(addr: Uint8Array, mask: Uint8Array, proto: Qual["proto"], dir: Qual["dir"], type: Qual["addr"]): Cond {
    const typestr = type === "NET" ? "net" : "host";
    switch (proto) {
      case "default":
      case "IPV6":
        return this.hostop6(addr, mask, dir, 8, 24);
      case "LINK":
        return this.error(`link-layer modifier applied to ip6 ${typestr}`);
      case "ATALK":
        return this.error(`AppleTalk modifier applied to ip6 ${typestr}`);
      case "undef":
        return this.error("syntax error in filter expression");
      default:
        return this.error(`'${PROTO_WORD[proto]}' modifier applied to ip6 ${typestr}`);
    }
  }

  /** DECnet data packets, long or short header, with 0 or 1 pad byte (gen_dnhostop). */
  private dnhostop(addr: number, dir: Qual["dir"]): Cond {
    let offsetSh: number;
    let offsetLh: number;
    switch (dir) {
      case "DST":
        offsetSh = 1;
        offsetLh = 7;
        break;
      case "SRC":
        offsetSh = 3;
        offsetLh = 15;
        break;
      case "AND":
        return and(this.dnhostop(addr, "SRC"), this.dnhostop(addr, "DST"));
      case "default":
      case "OR":
        return or(this.dnhostop(addr, "SRC"), this.dnhostop(addr, "DST"));
      default:
        return this.error(wlanQualifierError(dir, "are not valid qualifiers for addresses other than 802.11 MAC addresses", "is not a valid qualifier for addresses other than 802.11 MAC addresses"));
    }
    const swapped = swap16(addr);
    const b0 = this.linktypeTest(ET.DN);
    let b1 = and(this.mcmp("linkpl", 2, 2, swap16(0x0681), swap16(0x07ff)), this.cmp("linkpl", 2 + 1 + offsetLh, 2, swapped));
    let b2 = and(this.mcmp("linkpl", 2, 1, 0x06, 0x07), this.cmp("linkpl", 2 + offsetLh, 2, swapped));
    b1 = or(b2, b1);
    b2 = and(this.mcmp("linkpl", 2, 2, swap16(0x0281), swap16(0x07ff)), this.cmp("linkpl", 2 + 1 + offsetSh, 2, swapped));
    b1 = or(b2, b1);
    b2 = and(this.mcmp("linkpl", 2, 1, 0x02, 0x07), this.cmp("linkpl", 2 + offsetSh, 2, swapped));
    b1 = or(b2, b1);
    return and(b0, b1);
  }

  private ehostop(mac: Uint8Array, dir: Qual["dir"]): Cond {
    switch (dir) {
      case "SRC":
        return this.bcmp("linkhdr", 6, mac);
      case "DST":
        return this.bcmp("linkhdr", 0, mac);
      case "AND":
        return and(this.ehostop(mac, "SRC"), this.ehostop(mac, "DST"));
      case "default":
      case "OR":
        return or(this.ehostop(mac, "SRC"), this.ehostop(mac, "DST"));
      default:
        return this.error(wlanQualifierError(dir, "are only supported on 802.11 with 802.11 headers", "is only supported on 802.11 with 802.11 headers"));
    }
  }

  /** `ether host`/`ether src`/… with an Ethernet address (gen_ecode). */
  private ecode(text: string, q: Qual): Cond {
    if ((q.addr === "HOST" || q.addr === "default") && q.proto === "LINK") {
      if (this.linktype !== DLT.EN10MB) this.error("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel");
      const prev = this.prevLinkhdrCheck();
      const c = this.ehostop(etherAton(text), q.dir);
      return prev ? and(prev, c) : c;
    }
    return this.error("ethernet address used in non-ether expression");
  }

  // ---- protocols ---------------------------------------------------------------------------------------------
  private protoAbbrev(proto: Proto): Cond {
    const both = (n: number) => this.proto(n, "default", "default"); // IPv4, then IPv6
    switch (proto) {
      case "SCTP":
        return both(IPPROTO.SCTP);
      case "TCP":
        return both(IPPROTO.TCP);
      case "UDP":
        return both(IPPROTO.UDP);
      case "ICMP":
        return this.proto(IPPROTO_FULL.ICMP, "IP", "default");
      case "IGMP":
        return this.proto(IPPROTO_FULL.IGMP, "IP", "default");
      case "IGRP":
        return this.proto(IPPROTO_FULL.IGRP, "IP", "default");
      case "PIM":
        return both(IPPROTO_FULL.PIM);
      case "VRRP":
        return this.proto(IPPROTO_FULL.VRRP, "IP", "default");
      case "CARP":
        return this.proto(IPPROTO_FULL.CARP, "IP", "default");
      case "IP":
        return this.linktypeTest(ET.IP);
      case "ARP":
        return this.linktypeTest(ET.ARP);
      case "RARP":
        return this.linktypeTest(ET.REVARP);
      case "LINK":
        return this.error("link layer applied in wrong context");
      case "ATALK":
        return this.linktypeTest(ET.ATALK);
      case "AARP":
        return this.linktypeTest(ET.AARP);
      case "DECNET":
        return this.linktypeTest(ET.DN);
      case "SCA":
        return this.linktypeTest(ET.SCA);
      case "LAT":
        return this.linktypeTest(ET.LAT);
      case "MOPDL":
        return this.linktypeTest(ET.MOPDL);
      case "MOPRC":
        return this.linktypeTest(ET.MOPRC);
      case "IPV6":
        return this.linktypeTest(ET.IPV6);
      case "ICMPV6":
        return this.proto(IPPROTO_FULL.ICMPV6, "IPV6", "default");
      case "AH":
        return both(IPPROTO_FULL.AH);
      case "ESP":
        return both(IPPROTO_FULL.ESP);
      case "ISO":
        return this.linktypeTest(SAP.ISONS);
      case "ESIS":
        return this.proto(ISO.ESIS, "ISO", "default");
      case "ISIS":
        return this.proto(ISO.ISIS, "ISO", "default");
      case "L1":
        return this.isisAny([ISIS.L1_LAN_IIH, ISIS.PTP_IIH, ISIS.L1_LSP, ISIS.L1_CSNP, ISIS.L1_PSNP]);
      case "L2":
        return this.isisAny([ISIS.L2_LAN_IIH, ISIS.PTP_IIH, ISIS.L2_LSP, ISIS.L2_CSNP, ISIS.L2_PSNP]);
      case "IIH":
        return this.isisAny([ISIS.L1_LAN_IIH, ISIS.L2_LAN_IIH, ISIS.PTP_IIH]);
      case "LSP":
        return this.isisAny([ISIS.L1_LSP, ISIS.L2_LSP]);
      case "SNP":
        return this.isisAny([ISIS.L1_CSNP, ISIS.L2_CSNP, ISIS.L1_PSNP, ISIS.L2_PSNP]);
      case "CSNP":
        return this.isisAny([ISIS.L1_CSNP, ISIS.L2_CSNP]);
      case "PSNP":
        return this.isisAny([ISIS.L1_PSNP, ISIS.L2_PSNP]);
      case "CLNP":
        return this.proto(ISO.CLNP, "ISO", "default");
      case "STP":
        return this.linktypeTest(SAP.STP);
      case "IPX":
        return this.linktypeTest(SAP.IPX);
      case "NETBEUI":
        return this.linktypeTest(SAP.NETBEUI);
      case "RADIO":
        return this.error("'radio' is not a valid protocol type");
    }
  }

  /** IS-IS PDU type alternatives; libpcap ORs each new alternative in front of the ones before. */
  private isisAny(types: readonly number[]): Cond {
    let c = or(this.proto(types[0]!, "ISIS", "default"), this.proto(types[1]!, "ISIS", "default"));
    for (const t of types.slice(2)) c = or(this.proto(t, "ISIS", "default"), c);
    return c;
  }

  private proto(v: number, proto: Qual["proto"], dir: Qual["dir"]): Cond {
    if (dir !== "default") this.error("direction applied to 'proto'");
    switch (proto) {
      case "default":
        return or(this.proto(v, "IP", dir), this.proto(v, "IPV6", dir));
      case "LINK":
        return this.linktypeTest(v);
      case "IP":
        return and(this.linktypeTest(ET.IP), this.cmp("linkpl", 9, 1, v));
      case "IPV6": {
        const b0 = this.linktypeTest(ET.IPV6);
        const viaFragment = and(this.cmp("linkpl", 6, 1, IPPROTO_FULL.FRAGMENT), this.cmp("linkpl", 40, 1, v));
        return and(b0, or(this.cmp("linkpl", 6, 1, v), viaFragment));
      }
      case "ISO":
        return and(this.linktypeTest(SAP.ISONS), this.cmp("linkpl_nosnap", 0, 1, v));
      case "ISIS":
        return and(this.proto(ISO.ISIS, "ISO", "default"), this.cmp("linkpl_nosnap", 4, 1, v));
      case "ARP":
        return this.error("arp does not encapsulate another protocol");
      case "RARP":
        return this.error("rarp does not encapsulate another protocol");
      case "ATALK":
        return this.error("AppleTalk encapsulation is not specifiable");
      case "DECNET":
        return this.error("DECNET encapsulation is not specifiable");
      case "LAT":
      case "SCA":
      case "MOPRC":
      case "MOPDL":
        return this.error(`${proto} does not encapsulate another protocol`);
      case "CLNP":
        return this.error("'clnp proto' is not supported");
      case "undef":
        return this.error("syntax error in filter expression");
      default:
        return this.error(`'${PROTO_WORD[proto]} proto' is bogus`);
    }
  }

  private protochain(v: number, proto: Qual["proto"]): Cond {
    switch (proto) {
      case "default":
        return or(this.protochain(v, "IP"), this.protochain(v, "IPV6"));
      case "IP":
      case "IPV6":
        break;
      default:
        return this.error("bad protocol applied for 'protochain'");
    }
    if (this.linkpl.variable !== undefined) this.error("'protochain' not supported with variable length headers");
    this.optimize = false; // the walk loops, which libpcap's optimizer cannot handle
    const reg = this.allocReg();
    const nl = (this.linkpl.constant + this.nl) >>> 0;
    const ipv6 = proto === "IPV6";
    const b0 = this.linktypeTest(ipv6 ? ET.IPV6 : ET.IP);
    const chain: Cond = {
      t: "chain",
      ipv6,
      proto: v >>> 0,
      nl,
      start: load(1, nl + (ipv6 ? 6 : 9)),
      hlen: ipv6 ? k(40) : bin("lsh", bin("and", load(1, nl), k(0xf)), k(2)),
    };
    this.freeReg(reg);
    return and(b0, chain);
  }

  private lookupProto(name: string, proto: Qual["proto"]): number {
    switch (proto) {
      case "default":
      case "IP":
      case "IPV6": {
        const v = nameToProto(name);
        if (v === undefined) this.error(`unknown ip proto '${name}'`);
        return v;
      }
      case "LINK": {
        const v = nameToEtherProto(name) ?? nameToLlc(name);
        if (v === undefined) this.error(`unknown ether proto '${name}'`);
        return v;
      }
      case "ISO":
        if (name === "esis") return ISO.ESIS;
        if (name === "isis") return ISO.ISIS;
        if (name === "clnp") return ISO.CLNP;
        return this.error(`unknown osi proto '${name}'`);
      default:
        return PROTO_UNDEF;
    }
  }

  // ---- ports ---------------------------------------------------------------------------------------------------
  private ipfrag(): Cond {
    return not(test(this.loadA("linkpl", 6, 2), "jset", 0x1fff));
  }

  private portAtoms(dir: Qual["dir"], atom: (off: number) => Cond, what: "ports" | "port ranges"): Cond {
    switch (dir) {
      case "SRC":
        return atom(0);
      case "DST":
        return atom(2);
      case "AND":
        return and(atom(0), atom(2));
      case "default":
      case "OR":
        return or(atom(0), atom(2));
      default:
        return this.error(wlanQualifierError(dir, `are not valid qualifiers for ${what}`, `is not a valid qualifier for ${what}`));
    }
  }

  private portop(port: number, proto: number, dir: Qual["dir"]): Cond {
    const b0 = and(this.cmp("linkpl", 9, 1, proto), this.ipfrag());
    return and(b0, this.portAtoms(dir, (off) => this.cmp("tran_ipv4", off, 2, port), "ports"));
  }

  private portop6(port: number, proto: number, dir: Qual["dir"]): Cond {
    const b0 = this.cmp("linkpl", 6, 1, proto);
    return and(b0, this.portAtoms(dir, (off) => this.cmp("tran_ipv6", off, 2, port), "ports"));
  }

  private portrangeop(p1: number, p2: number, proto: number, dir: Qual["dir"], ipv6: boolean): Cond {
    const [lo, hi] = p1 > p2 ? [p2, p1] : [p1, p2];
    const rel: OffRel = ipv6 ? "tran_ipv6" : "tran_ipv4";
    const b0 = ipv6 ? this.cmp("linkpl", 6, 1, proto) : and(this.cmp("linkpl", 9, 1, proto), this.ipfrag());
    return and(b0, this.portAtoms(dir, (off) => and(this.cmpGe(rel, off, 2, lo), this.cmpLe(rel, off, 2, hi)), "port ranges"));
  }

  /** gen_port/gen_port6 (and the portrange variants) for one IP version, over TCP, UDP and SCTP if unspecified. */
  private portsFor(ipv6: boolean, ipProto: number, each: (proto: number) => Cond): Cond {
    const b0 = this.linktypeTest(ipv6 ? ET.IPV6 : ET.IP);
    let b1: Cond;
    if (ipProto === PROTO_UNDEF) {
      b1 = or(each(IPPROTO.TCP), each(IPPROTO.UDP));
      b1 = or(each(IPPROTO.SCTP), b1);
    } else {
      b1 = each(ipProto);
    }
    return and(b0, b1);
  }

  /** `port N`: IPv6 first, then IPv4, as gen_or(gen_port6(), gen_port()) orders them. */
  private port(port: number, ipProto: number, dir: Qual["dir"]): Cond {
    const v4 = this.portsFor(false, ipProto, (p) => this.portop(port, p, dir));
    const v6 = this.portsFor(true, ipProto, (p) => this.portop6(port, p, dir));
    return or(v6, v4);
  }

  private portrange(p1: number, p2: number, ipProto: number, dir: Qual["dir"]): Cond {
    const v4 = this.portsFor(false, ipProto, (p) => this.portrangeop(p1, p2, p, dir, false));
    const v6 = this.portsFor(true, ipProto, (p) => this.portrangeop(p1, p2, p, dir, true));
    return or(v6, v4);
  }

  private portProto(proto: Qual["proto"], what: "port" | "portrange"): number {
    switch (proto) {
      case "UDP":
        return IPPROTO.UDP;
      case "TCP":
        return IPPROTO.TCP;
      case "SCTP":
        return IPPROTO.SCTP;
      case "default":
        return PROTO_UNDEF;
      default:
        return this.error(`illegal qualifier of '${what}'`);
    }
  }

  /** The protocol a named port may be used with under a `tcp`/`udp`/`sctp` qualifier (gen_scode's checks). */
  private namedPortProto(proto: Qual["proto"], realProto: number, name: string, what: "port" | "port in range"): number {
    const named: Readonly<Record<number, string>> = { [IPPROTO.TCP]: "tcp", [IPPROTO.UDP]: "udp", [IPPROTO.SCTP]: "sctp" };
    const want = proto === "UDP" ? IPPROTO.UDP : proto === "TCP" ? IPPROTO.TCP : proto === "SCTP" ? IPPROTO.SCTP : undefined;
    if (want === undefined) return realProto;
    if (realProto !== PROTO_UNDEF && realProto !== want) this.error(`${what} '${name}' is ${named[realProto]}`);
    return want;
  }

  // ---- name, number and address operands ---------------------------------------------------------------------
  private scode(name: string, q: Qual): Cond {
    const { proto, dir } = q;
    switch (q.addr) {
      case "NET": {
        let addr = nameToNetAddr(name);
        if (addr === 0) this.error(`unknown network '${name}'`);
        let mask = 0xffffffff;
        while (addr && (addr & 0xff000000) === 0) {
          addr = (addr << 8) >>> 0;
          mask = (mask << 8) >>> 0;
        }
        return this.host(addr, mask, proto, dir, q.addr);
      }
      case "default":
      case "HOST": {
        if (proto === "LINK") {
          if (this.linktype === DLT.EN10MB) return this.error(`unknown ether host '${name}'`);
          return this.error("only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel supports link-level host name");
        }
        if (proto === "DECNET") return this.error(`decnet name support not included, '${name}' cannot be translated\n`);
        const addrs = nameToAddresses(name);
        if (addrs.length === 0) this.error(`unknown host '${name}'`);
        let tproto = proto;
        let tproto6 = proto;
        if (this.linktypeOff.constant === OFFSET_NOT_SET && proto === "default") {
          tproto = "IP";
          tproto6 = "IPV6";
        }
        let c: Cond | undefined;
        for (const a of addrs) {
          let t: Cond;
          if (a.family === 4) {
            if (tproto === "IPV6") continue;
            t = this.host(atoin(a.text)!.value, 0xffffffff, tproto, dir, q.addr);
          } else {
            if (tproto6 === "IP") continue;
            t = this.host6(ipv6Bytes(a.text)!, new Uint8Array(16).fill(0xff), tproto6, dir, q.addr);
          }
          c = c ? or(c, t) : t;
        }
        if (!c) this.error(`unknown host '${name}'${proto === "default" ? "" : " for specified address family"}`);
        return c;
      }
      case "PORT": {
        if (proto !== "default" && proto !== "UDP" && proto !== "TCP" && proto !== "SCTP") this.error("illegal qualifier of 'port'");
        const found = nameToPort(name);
        if (!found) this.error(`unknown port '${name}'`);
        const realProto = this.namedPortProto(proto, found.proto, name, "port");
        if (found.port < 0) this.error(`illegal port number ${found.port} < 0`);
        if (found.port > 65535) this.error(`illegal port number ${found.port} > 65535`);
        return this.port(found.port, realProto, dir);
      }
      case "PORTRANGE": {
        if (proto !== "default" && proto !== "UDP" && proto !== "TCP" && proto !== "SCTP") this.error("illegal qualifier of 'portrange'");
        const found = nameToPortRange(name);
        if (!found) this.error(`unknown port in range '${name}'`);
        const realProto = this.namedPortProto(proto, found.proto, name, "port in range");
        for (const p of [found.port1, found.port2]) {
          if (p < 0) this.error(`illegal port number ${p} < 0`);
          if (p > 65535) this.error(`illegal port number ${p} > 65535`);
        }
        return this.portrange(found.port1, found.port2, realProto, dir);
      }
      case "GATEWAY":
        return this.error("'gateway' not supported in this configuration");
      case "PROTO":
      case "PROTOCHAIN": {
        const real = this.lookupProto(name, proto);
        if (real < 0) this.error(`unknown protocol: ${name}`);
        return q.addr === "PROTO" ? this.proto(real, proto, dir) : this.protochain(real, proto);
      }
      case "undef":
        return this.error(NO_QUALIFIER);
    }
  }

  /** A number or a dotted IPv4 address under qualifiers (gen_ncode); `text` is undefined for a plain number. */
  private ncode(text: string | undefined, value: number, q: Qual): Cond {
    const { proto, dir } = q;
    let v = value >>> 0;
    let vlen = 32;
    if (text !== undefined) {
      if (proto === "DECNET") {
        const dn = atodn(text);
        if (dn === undefined) this.error(`malformed decnet address '${text}'`);
        v = dn;
      } else {
        const ip = atoin(text);
        if (!ip) this.error(`invalid IPv4 address '${text}'`);
        v = ip.value;
        vlen = ip.bits;
      }
    }
    switch (q.addr) {
      case "default":
      case "HOST":
      case "NET": {
        if (proto === "DECNET") return this.host(v, 0, proto, dir, q.addr);
        if (proto === "LINK") this.error("illegal link layer address");
        let mask = 0xffffffff;
        if (text === undefined && q.addr === "NET") {
          while (v && (v & 0xff000000) === 0) {
            v = (v << 8) >>> 0;
            mask = (mask << 8) >>> 0;
          }
        } else {
          v = shl32(v, 32 - vlen);
          mask = shl32(mask, 32 - vlen);
        }
        return this.host(v, mask, proto, dir, q.addr);
      }
      case "PORT": {
        const p = this.portProto(proto, "port");
        if (v > 65535) this.error(`illegal port number ${v} > 65535`);
        return this.port(v, p, dir);
      }
      case "PORTRANGE": {
        const p = this.portProto(proto, "portrange");
        if (v > 65535) this.error(`illegal port number ${v} > 65535`);
        return this.portrange(v, v, p, dir);
      }
      case "GATEWAY":
        return this.error("'gateway' requires a name");
      case "PROTO":
        return this.proto(v, proto, dir);
      case "PROTOCHAIN":
        return this.protochain(v, proto);
      case "undef":
        return this.error(NO_QUALIFIER);
    }
  }

  /** `a.b.c.d/len` and `a.b.c.d mask m.m.m.m` (gen_mcode). */
  private mcode(text: string, maskText: string | undefined, masklen: number, q: Qual): Cond {
    const ip = atoin(text);
    if (!ip) this.error(`invalid IPv4 address '${text}'`);
    const n = shl32(ip.value, 32 - ip.bits);
    let m: number;
    if (maskText !== undefined) {
      const mk = atoin(maskText);
      if (!mk) this.error(`invalid IPv4 address '${maskText}'`);
      m = shl32(mk.value, 32 - mk.bits);
      if ((n & ~m) >>> 0 !== 0) this.error(`non-network bits set in "${text} mask ${maskText}"`);
    } else {
      if (masklen > 32) this.error("mask length must be <= 32");
      m = masklen === 0 ? 0 : shl32(0xffffffff, 32 - masklen);
      if ((n & ~m) >>> 0 !== 0) this.error(`non-network bits set in "${text}/${masklen}"`);
    }
    if (q.addr === "NET") return this.host(n, m, q.proto, q.dir, q.addr);
    return this.error("Mask syntax for networks only");
  }

  /** IPv6 address, optionally with a prefix length (gen_mcode6). */
  private mcode6(text: string, masklen: number, q: Qual): Cond {
    const addr = ipv6Bytes(text);
    if (!addr) this.error(`invalid ip6 address ${text}`);
    if (masklen > 128) this.error("mask length must be <= 128");
    const mask = new Uint8Array(16);
    for (let i = 0; i < Math.floor(masklen / 8); i++) mask[i] = 0xff;
    if (masklen % 8) mask[Math.floor(masklen / 8)] = (0xff << (8 - (masklen % 8))) & 0xff;
    if (addr.some((b, i) => (b & ~mask[i]!) !== 0)) this.error(`non-network bits set in "${text}/${masklen}"`);
    switch (q.addr) {
      case "default":
      case "HOST":
        if (masklen !== 128) this.error("Mask syntax for networks only");
        return this.host6(addr, mask, q.proto, q.dir, q.addr);
      case "NET":
        return this.host6(addr, mask, q.proto, q.dir, q.addr);
      default:
        return this.error("invalid qualifier against IPv6 address");
    }
  }

  // ---- arithmetic relations ----------------------------------------------------------------------------------
  private relation(e: Extract<Expr, { k: "rel" }>): Cond {
    const a0 = this.arith(e.left);
    const a1 = this.arith(e.right);
    this.locate(e.span);
    const op: JumpOp = e.op === ">" || e.op === "<=" ? "jgt" : e.op === ">=" || e.op === "<" ? "jge" : "jeq";
    const reversed = e.op === "<=" || e.op === "<" || e.op === "!=";
    let b: Cond = { t: "test", a: a0.v, op, b: a1.v, at: e.span.start };
    if (reversed) b = not(b);
    this.freeReg(a0.reg);
    this.freeReg(a1.reg);
    const checks = a0.cond && a1.cond ? and(a0.cond, a1.cond) : (a0.cond ?? a1.cond);
    return checks ? and(checks, b) : b;
  }

  private arith(a: Arith): ArthVal {
    switch (a.k) {
      case "num":
        return { v: k(a.value), reg: this.allocReg(), firstImm: a.value >>> 0 };
      case "len":
        return { v: LEN, reg: this.allocReg() };
      case "neg": {
        const inner = this.arith(a.operand);
        return { ...inner, v: { t: "neg", a: inner.v } };
      }
      case "bin": {
        const a0 = this.arith(a.left);
        const a1 = this.arith(a.right);
        this.locate(a.span);
        // libpcap checks the right operand's first instruction: a literal 0 (or > 31) there is refused
        if (a.op === "/" && a1.firstImm === 0) this.error("division by zero", a.right.span);
        if (a.op === "%" && a1.firstImm === 0) this.error("modulus by zero", a.right.span);
        if ((a.op === "<<" || a.op === ">>") && a1.firstImm !== undefined && a1.firstImm > 31) this.error("shift by more than 31 bits", a.right.span);
        this.freeReg(a0.reg);
        this.freeReg(a1.reg);
        const ops = { "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "&": "and", "|": "or", "^": "xor", "<<": "lsh", ">>": "rsh" } as const;
        // libpcap keeps only the left operand's protocol checks (gen_arth never merges the right one's)
        return { v: bin(ops[a.op], a0.v, a1.v), cond: a0.cond, reg: this.allocReg(), firstImm: a0.firstImm };
      }
      case "load":
        return this.loadExpr(a);
    }
  }

  /** `proto[index : size]` (gen_load). */
  private loadExpr(a: Extract<Arith, { k: "load" }>): ArthVal {
    const index = this.arith(a.index);
    this.locate(a.span);
    const reg = this.allocReg();
    this.freeReg(index.reg);
    if (a.size !== 1 && a.size !== 2 && a.size !== 4) this.error("data size must be 1, 2, or 4", a.sizeSpan);
    const size = a.size as 1 | 2 | 4;
    const rel = (off: number, x: Val): Val => load(size, off, x, "rel" satisfies LoadForm);
    const withVar = (base: AbsOffset, x: Val): Val => (base.variable !== undefined ? bin("add", x, { t: "var", id: base.variable }) : x);
    switch (a.proto) {
      case "RADIO":
        return this.error("radio information not present in capture");
      case "LINK":
        return { v: rel(this.linkhdr.constant, withVar(this.linkhdr, index.v)), cond: index.cond, reg, firstImm: index.firstImm };
      case "IP":
      case "ARP":
      case "RARP":
      case "ATALK":
      case "DECNET":
      case "SCA":
      case "LAT":
      case "MOPRC":
      case "MOPDL":
      case "IPV6": {
        const v = rel(this.linkpl.constant + this.nl, withVar(this.linkpl, index.v));
        const b = this.protoAbbrev(a.proto);
        return { v, cond: index.cond ? and(index.cond, b) : b, reg, firstImm: index.firstImm };
      }
      case "SCTP":
      case "TCP":
      case "UDP":
      case "ICMP":
      case "IGMP":
      case "IGRP":
      case "PIM":
      case "VRRP":
      case "CARP": {
        const x = bin("add", index.v, this.ipHeaderLength());
        const v = rel(this.linkpl.constant + this.nl, x);
        let b = and(this.protoAbbrev(a.proto), this.ipfrag());
        if (index.cond) b = and(index.cond, b);
        b = and(this.protoAbbrev("IP"), b);
        return { v, cond: b, reg, firstImm: index.firstImm };
      }
      case "ICMPV6": {
        let b = this.protoAbbrev("IPV6");
        if (index.cond) b = and(index.cond, b);
        b = and(b, this.cmp("linkpl", 6, 1, IPPROTO_FULL.ICMPV6));
        const v = rel(this.linkpl.constant + this.nl + 40, withVar(this.linkpl, index.v));
        return { v, cond: b, reg, firstImm: index.firstImm };
      }
      default:
        return this.error("unsupported index operation");
    }
  }

  // ---- everything else ---------------------------------------------------------------------------------------
  private other(o: Other): Cond {
    switch (o.k) {
      case "broadcast":
        return this.broadcast(o.proto);
      case "multicast":
        return this.multicast(o.proto);
      case "less":
        return not(test(LEN, "jgt", o.value));
      case "greater":
        return test(LEN, "jge", o.value);
      case "byte":
        return this.byteop(o.op, o.index, o.value);
      case "inbound":
      case "outbound":
        return this.inbound(o.k === "outbound");
      case "ifindex":
        return this.ifindex(o.value);
      case "vlan":
        return this.vlan(o.value, o.valueSpan);
      case "mpls":
        return this.mpls(o.value, o.valueSpan);
      case "pppoed":
        return this.linktypeTest(ET.PPPOED);
      case "pppoes":
        return this.pppoes(o.value, o.valueSpan);
      case "geneve":
        return this.geneve(o.value, o.valueSpan);
      case "llc":
        return this.llc(o.sub);
      case "pf":
        return this.error(o.what === "on" || o.what === "ifname" ? "libpcap was compiled without pf support" : "libpcap was compiled on a machine without pf support");
      case "p80211":
        return this.error(o.what === "dir" ? "frame direction supported only with 802.11 headers" : "802.11 link-layer types supported only on 802.11");
      case "atm":
        return this.error(`'${o.what}' supported only on raw ATM`);
      case "mtp":
        return this.error(["fisu", "lssu", "lsu", "msu", "hfisu", "hlssu", "hmsu"].includes(o.what) ? `'${o.what}' supported only on MTP2` : `'${o.what}' supported only on SS7`);
    }
  }

  private broadcast(proto: Proto | "default"): Cond {
    switch (proto) {
      case "default":
      case "LINK": {
        if (this.linktype !== DLT.EN10MB) return this.error("not a broadcast link");
        const prev = this.prevLinkhdrCheck();
        const c = this.ehostop(new Uint8Array(6).fill(0xff), "DST");
        return prev ? and(prev, c) : c;
      }
      case "IP": {
        if (this.opts.netmask >>> 0 === PCAP_NETMASK_UNKNOWN) this.error("netmask not known, so 'ip broadcast' not supported");
        const hostmask = ~this.opts.netmask >>> 0;
        const b0 = this.linktypeTest(ET.IP);
        const b2 = or(this.mcmp("linkpl", 16, 4, 0, hostmask), this.mcmp("linkpl", 16, 4, hostmask, hostmask));
        return and(b0, b2);
      }
      default:
        return this.error("only link-layer/IP broadcast filters supported");
    }
  }

  private multicast(proto: Proto | "default"): Cond {
    switch (proto) {
      case "default":
      case "LINK": {
        if (this.linktype !== DLT.EN10MB) break;
        const prev = this.prevLinkhdrCheck();
        const c = test(this.loadA("linkhdr", 0, 1), "jset", 1);
        return prev ? and(prev, c) : c;
      }
      case "IP":
        return and(this.linktypeTest(ET.IP), this.cmpGe("linkpl", 16, 1, 224));
      case "IPV6":
        return and(this.linktypeTest(ET.IPV6), this.cmp("linkpl", 24, 1, 255));
      default:
        break;
    }
    return this.error("link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel");
  }

  /**
   * `byte N op V`: for `&` and `|` libpcap tests the accumulator without loading the byte (its own quirk); the
   * accumulator holds 0 when nothing ran before, which is the value used here.
   */
  private byteop(op: "&" | "|" | "<" | ">" | "=", idx: number, val: number): Cond {
    switch (op) {
      case "=":
        return this.cmp("linkhdr", idx, 1, val);
      case "<":
        return this.cmpLt("linkhdr", idx, 1, val);
      case ">":
        return this.cmpGt("linkhdr", idx, 1, val);
      case "|":
        return not(test(bin("or", { t: "acc" }, k(val)), "jeq", 0));
      case "&":
        return not(test(bin("and", { t: "acc" }, k(val)), "jeq", 0));
    }
  }

  private inbound(outbound: boolean): Cond {
    switch (this.linktype) {
      case DLT.LINUX_SLL: {
        const c = this.cmp("linkhdr", 0, 2, SLL.OUTGOING);
        return outbound ? c : not(c);
      }
      case DLT.LINUX_SLL2: {
        const c = this.cmp("linkhdr", 10, 1, SLL.OUTGOING);
        return outbound ? c : not(c);
      }
      default: {
        if (this.opts.savefile) return this.error(`inbound/outbound not supported on ${describeLinktype(this.linktype)} when reading savefiles`);
        return test({ t: "field", name: "pkt.dir" }, "jeq", outbound ? 1 : 0);
      }
    }
  }

  private ifindex(n: number): Cond {
    if (this.linktype === DLT.LINUX_SLL2) return this.cmp("linkhdr", 4, 4, n);
    if (this.opts.savefile) return this.error(`ifindex not supported on ${describeLinktype(this.linktype)} when reading savefiles`);
    return test({ t: "field", name: "pkt.port" }, "jeq", n);
  }

  private vlan(num: number | undefined, numSpan?: Span): Cond {
    if (this.labelStackDepth > 0) this.error("no VLAN match after MPLS");
    if (this.linktype !== DLT.EN10MB) this.error(`no VLAN support for ${describeLinktype(this.linktype)}`);
    let c = or(or(this.linktypeTest(ET.VLAN), this.linktypeTest(ET.QINQ_AD)), this.linktypeTest(ET.QINQ_OLD));
    if (num !== undefined) {
      if (num > 0x0fff) this.error(`VLAN tag ${num} greater than maximum ${0x0fff}`, numSpan);
      c = and(c, this.mcmp("linkpl", 0, 2, num, 0x0fff));
    }
    this.linkpl = { ...this.linkpl, constant: this.linkpl.constant + 4 };
    this.linktypeOff = { ...this.linktypeOff, constant: this.linktypeOff.constant + 4 };
    return c;
  }

  private mpls(label: number | undefined, labelSpan?: Span): Cond {
    let c: Cond;
    if (this.labelStackDepth > 0) {
      c = this.mcmp("prevmplshdr", 2, 1, 0, 0x01); // the previous label is not the bottom of the stack
    } else if (this.linktype === DLT.EN10MB) {
      c = this.linktypeTest(ET.MPLS);
    } else if (this.linktype === DLT.PPP) {
      c = this.linktypeTest(PPP.MPLS_UCAST);
    } else {
      return this.error(`no MPLS support for ${describeLinktype(this.linktype)}`);
    }
    if (label !== undefined) {
      if (label > 0xfffff) this.error(`MPLS label ${label} greater than maximum ${0xfffff}`, labelSpan);
      c = and(c, this.mcmp("linkpl", 0, 4, (label << 12) >>> 0, 0xfffff000));
    }
    this.nlNosnap += 4;
    this.nl += 4;
    this.labelStackDepth++;
    return c;
  }

  private pushLinkhdr(linktype: number, hdr: AbsOffset): void {
    this.linktype = linktype;
    this.linkhdr = hdr;
    this.isGeneve = false;
  }

  private pppoes(session: number | undefined, sessionSpan?: Span): Cond {
    let c = this.linktypeTest(ET.PPPOES);
    if (session !== undefined) {
      if (session > 0xffff) this.error(`PPPoE session number ${session} greater than maximum ${0xffff}`, sessionSpan);
      c = and(c, this.mcmp("linkpl", 0, 4, session, 0x0000ffff));
    }
    this.pushLinkhdr(DLT.PPP, { constant: this.linkpl.constant + this.nl + 6, variable: this.linkpl.variable });
    this.linktypeOff = { ...this.linkhdr };
    this.linkpl = { ...this.linkpl, constant: this.linkhdr.constant + 2 };
    this.nl = 0;
    this.nlNosnap = 0;
    return c;
  }

  // ---- Geneve: later tests look inside the tunnel, at offsets computed while the packet runs ----------------
  private geneve(vni: number | undefined, vniSpan?: Span): Cond {
    const hl = this.newVar();
    const check = (ipv6: boolean): Cond => {
      let c = ipv6 ? this.portsFor(true, IPPROTO.UDP, (p) => this.portop6(GENEVE_PORT, p, "DST")) : this.portsFor(false, IPPROTO.UDP, (p) => this.portop(GENEVE_PORT, p, "DST"));
      const rel: OffRel = ipv6 ? "tran_ipv6" : "tran_ipv4";
      c = and(c, this.mcmp(rel, 8, 1, 0, 0xc0)); // version 0
      if (vni !== undefined) {
        if (vni > 0xffffff) this.error(`Geneve VNI ${vni} greater than maximum ${0xffffff}`, vniSpan);
        c = and(c, this.mcmp(rel, 12, 4, (vni << 8) >>> 0, 0xffffff00));
      }
      // remember the network header length, for the offset computation after the Geneve test
      const len = ipv6 ? (this.linkpl.variable !== undefined ? bin("add", k(40), { t: "var", id: this.linkpl.variable }) : k(40)) : this.ipHeaderLength();
      return and(c, { t: "seq", set: [{ id: hl, v: len }] });
    };
    const matched = or(check(false), check(true));

    // offsets of the Geneve header, the encapsulated type and payload (gen_geneve_offsets)
    const start = this.newVar();
    const linktypeVar = this.newVar();
    const linkhdrVar = this.newVar();
    const linkplVar = this.newVar();
    const startVal: Val = { t: "var", id: start };
    const hdrEnd: Val = { t: "var", id: linkhdrVar };
    const offsets: Cond = and(
      {
        t: "seq",
        set: [
          { id: start, v: bin("add", { t: "var", id: hl }, k(this.linkpl.constant + this.nl + 8)) },
          { id: linktypeVar, v: bin("add", startVal, k(2)) },
          { id: linkhdrVar, v: bin("add", bin("add", bin("mul", bin("and", load(1, 0, startVal, "ind"), k(0x3f)), k(4)), k(8)), startVal) },
        ],
      },
      or(
        and(test(load(2, 2, startVal, "ind"), "jeq", ET.TEB), {
          t: "seq",
          set: [
            { id: linktypeVar, v: bin("add", hdrEnd, k(12)) },
            { id: linkplVar, v: bin("add", hdrEnd, k(14)) },
          ],
        }),
        { t: "seq", set: [{ id: linkplVar, v: hdrEnd }] },
      ),
    );
    this.optimize = false; // libpcap's offset code has a bare jump the optimizer cannot handle
    this.linktypeOff = { constant: 0, variable: linktypeVar };
    this.pushLinkhdr(DLT.EN10MB, { constant: 0, variable: linkhdrVar });
    this.linkpl = { constant: 0, variable: linkplVar };
    this.nl = 0;
    for (let i = 0; i < 3; i++) this.allocReg(); // libpcap spends three scratch registers on these offsets
    this.isGeneve = true;
    return and(matched, offsets);
  }

  /** After `geneve`, Ethernet tests need an encapsulated Ethernet header (payload offset ≠ header offset). */
  private geneveLinkCheck(): Cond {
    return not(test({ t: "var", id: this.linkhdr.variable! }, "jeq", { t: "var", id: this.linkpl.variable! }));
  }
}

function ethertypeToPpp(llProto: number): number {
  switch (llProto) {
    case ET.IP:
      return PPP.IP;
    case ET.IPV6:
      return PPP.IPV6;
    case ET.DN:
      return PPP.DECNET;
    case ET.ATALK:
      return PPP.APPLE;
    case ET.NS:
      return PPP.NS;
    case SAP.ISONS:
      return PPP.OSI;
    case SAP.STP:
      return PPP.BRPDU;
    case SAP.IPX:
      return PPP.IPX;
    default:
      return llProto;
  }
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

/** A left shift in 32 bits where shifting by 32 gives 0 (as libpcap's promotion of short addresses needs). */
function shl32(v: number, n: number): number {
  return n >= 32 ? 0 : (v << n) >>> 0;
}

function wlanQualifierError(dir: Qual["dir"], pluralTail: string, singularTail: string): string {
  switch (dir) {
    case "ADDR1":
    case "ADDR2":
    case "ADDR3":
    case "ADDR4": {
      const n = dir.slice(4);
      return `'addr${n}' and 'address${n}' ${pluralTail}`;
    }
    case "RA":
      return `'ra' ${singularTail}`;
    case "TA":
      return `'ta' ${singularTail}`;
    default:
      return "syntax error in filter expression";
  }
}
