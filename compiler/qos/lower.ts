/**
 * QoS statements → IR with tc's and Linux's meaning: the verbs (add refuses a duplicate, replace overwrites,
 * change needs an existing object), each kind's parameters in tc's units with Linux's defaults, the class tree,
 * and checks with positioned errors (unknown kinds and parameters, unknown class ids, a class of another kind
 * than its qdisc, values out of range) and warnings (a child's rate above its parent's, an HTB default naming
 * no class, a quantum Linux would clamp, a filter to an inner class).
 */
import { errorAt, lineAndColumn, type SourceError } from "../../overlay-isa/index.js";
import type { Pos } from "../policy/ast.js";
import { DEVICE, type DrrClass, type FqCodelQdisc, type HtbClass, isFifoLeaf, LEAF_KINDS, type LeafQdisc, type QdiscKind, type QdiscParams, type QosFilter, type QosPolicy, QDISC_KINDS, CLASSFUL, type SfqQdisc, type TbfQdisc } from "./ir.js";
import type { ClassStatement, FilterStatement, QdiscStatement, QosSource, Word } from "./statements.js";
import { formatHandle, formatRate, handle, majorOf, minorOf, parseCount, parseHandle, parseRate, parseSize, parseTime, ROOT_HANDLE, UnitError, type Handle } from "./units.js";

export interface QosWarning {
  file: string;
  line: number;
  column: number;
  message: string;
  sourceLine: string;
}

export function formatQosWarning(w: QosWarning): string {
  const caret = " ".repeat(Math.max(0, w.column - 1)) + "^";
  return `${w.file}:${w.line}:${w.column}: warning: ${w.message}\n  ${w.sourceLine.replace(/\t/g, " ")}\n  ${caret}`;
}

/** tc's psched clock as /proc/net/psched reports it on a high-resolution kernel: ticks of 64 ns, hz 10⁹. */
const PSCHED_HZ = 1e9;
const TICKS_PER_US = 1000 / 64;
/** htb's default mtu for burst computations (tc's q_htb.c) */
const HTB_TC_MTU = 1600;
const HTB_DEFAULT_PRIO_LIMIT = 7;

const DEFAULT_PRIOMAP = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];

interface PendingClass {
  id: Handle;
  idWord: Word;
  parent?: Handle;
  parentWord?: Word;
  kind: string;
  kindWord: Word;
  params: Word[];
  pos: Pos;
  leaf?: { stmt: QdiscStatement; leaf: LeafQdisc };
}

/** Parameters of one statement: name → value words, flags, with positions for messages. */
class Params {
  private readonly seen = new Map<string, Word>();
  constructor(
    private readonly low: Lowerer,
    private readonly kind: string,
    words: Word[],
    valued: readonly string[],
    flags: readonly string[] = [],
    aliases: Record<string, string> = {},
  ) {
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      const name = aliases[w.text] ?? w.text;
      if (flags.includes(name)) {
        this.seen.set(name, w);
        continue;
      }
      if (!valued.includes(name)) {
        const known = [...valued, ...flags].join(", ");
        low.fail(w.pos, `unknown ${kind} parameter '${w.text}' (${kind} takes ${known || "no parameters"})`);
      }
      const v = words[k + 1];
      if (!v) low.fail(w.pos.end, `expected a value after '${w.text}'`);
      if (this.seen.has(name)) low.fail(w.pos, `'${w.text}' is given twice`);
      this.seen.set(name, v);
      k++;
    }
  }
  has(name: string): boolean {
    return this.seen.has(name);
  }
  word(name: string): Word | undefined {
    return this.seen.get(name);
  }
  /** Parse a value with a units.ts parser; its error points at the value. */
  get<T>(name: string, parse: (text: string) => T): T | undefined {
    const w = this.seen.get(name);
    if (!w) return undefined;
    try {
      return parse(w.text);
    } catch (e) {
      if (e instanceof UnitError) this.low.fail(w.pos, `${this.kind} ${name}: ${e.message}`);
      throw e;
    }
  }
  count(name: string, min: number, max: number): number | undefined {
    const v = this.get(name, (t) => parseCount(t, name));
    if (v !== undefined && (v < min || v > max)) this.low.fail(this.seen.get(name)!.pos, `${this.kind} ${name} ${v} is outside ${min} … ${max}`);
    return v;
  }
}

/** psched_ratecfg's mult/shift: time for `len` bytes at `rate` bytes/s is (len × mult) >> shift ns. */
export function rateConfig(rate: number): { mult: bigint; shift: number } {
  const r = BigInt(Math.max(1, Math.floor(rate)));
  let factor = 1_000_000_000n;
  let shift = 0;
  let mult = 0n;
  for (;;) {
    mult = factor / r;
    if (mult & (1n << 31n) || factor & (1n << 63n)) break;
    factor <<= 1n;
    shift++;
  }
  return { mult, shift };
}

/** psched_l2t_ns: ns to send `len` bytes at `rate`, as Linux computes it. */
export function lengthToTime(rate: number, len: number): number {
  const { mult, shift } = rateConfig(rate);
  return Number((BigInt(len) * mult) >> BigInt(shift));
}

/** tc_calc_xmittime then PSCHED_TICKS2NS: a burst of `bytes` at `rate` as the ns tc hands the kernel. */
export function burstTimeNs(rate: number, bytes: number): number {
  const ticks = Math.trunc(((1e6 * bytes) / Math.max(1, rate)) * TICKS_PER_US) >>> 0;
  return ticks * 64;
}

export class Lowerer {
  readonly warnings: QosWarning[] = [];
  constructor(readonly src: QosSource) {}

  fail(pos: Pos | number, message: string): never {
    throw errorAt(this.src.file, this.src.source, typeof pos === "number" ? pos : pos.start, message) as SourceError;
  }

  warn(pos: Pos, message: string): void {
    const { line, column, sourceLine } = lineAndColumn(this.src.source, pos.start);
    this.warnings.push({ file: this.src.file, line, column, message, sourceLine });
  }

  handleOf(w: Word, what = "class id"): Handle {
    try {
      return parseHandle(w.text, what);
    } catch (e) {
      if (e instanceof UnitError) this.fail(w.pos, e.message);
      throw e;
    }
  }

  lower(): QosPolicy {
    let root: QdiscStatement | undefined;
    let rootHandle: Handle = 0;
    const classes = new Map<Handle, PendingClass>();
    const leaves: QdiscStatement[] = [];
    const filters: FilterStatement[] = [];
    for (const st of this.src.statements) {
      if (st.kind === "qdisc") {
        const isRoot = !st.parent || st.parent.text === "root";
        if (!QDISC_KINDS.includes(st.qdisc.text as QdiscKind)) this.fail(st.qdisc.pos, `unknown qdisc '${st.qdisc.text}' (kopi schedules ${QDISC_KINDS.join(", ")})`);
        if (isRoot) {
          if (root && st.verb === "add") this.fail(st.pos, `the root qdisc exists already (${root.qdisc.text} at ${this.where(root.pos)}); tc refuses a second 'add': use 'replace'`);
          if (!root && st.verb === "change") this.fail(st.pos, "'change' needs an existing root qdisc (use add or replace)");
          if (root && st.verb === "change" && root.qdisc.text !== st.qdisc.text) this.fail(st.qdisc.pos, `'change' cannot turn the ${root.qdisc.text} root into ${st.qdisc.text} (use replace)`);
          if (root && st.verb === "replace" && root.qdisc.text !== st.qdisc.text) {
            // a new kind of root: tc deletes the old qdisc with its classes, leaf qdiscs and filters
            classes.clear();
            leaves.length = 0;
            filters.length = 0;
          }
          root = st;
          rootHandle = st.handle ? this.handleOf(st.handle, "qdisc handle") : handle(0x8001, 0);
          if (minorOf(rootHandle) !== 0) this.fail(st.handle!.pos, `a qdisc handle has no minor number: write ${formatHandle(handle(majorOf(rootHandle), 0))}`);
        } else leaves.push(st);
      } else if (st.kind === "class") {
        if (!root) this.fail(st.pos, "a class needs a classful root qdisc first (qdisc htb, drr or prio … root)");
        this.addClass(st, classes, rootHandle, root);
      } else filters.push(st);
    }
    if (!root) this.fail(this.src.statements[0]?.pos ?? 0, "no root qdisc: add one (such as 'qdisc htb handle 1: root default 10')");
    const kind = root.qdisc.text as QdiscKind;
    // leaf qdiscs' handles: a qdisc whose parent is a class of one of them would hang two levels down
    const leafHandles = new Map<number, Word>();
    for (const l of leaves) if (l.handle) leafHandles.set(majorOf(this.handleOf(l.handle, "qdisc handle")), l.handle);
    for (const l of leaves) this.attachLeaf(l, kind, rootHandle, classes, leafHandles);
    const params = this.rootParams(root, kind, classes, rootHandle);
    const lowered = filters.map((f, i) => this.filter(f, i, kind, rootHandle, params, classes));
    return { file: this.src.file, source: this.src.source, format: this.src.format, dev: this.src.dev, root: { handle: rootHandle, params, pos: root.pos }, filters: lowered, sets: this.src.sets };
  }

  private where(pos: Pos): string {
    const { line, column } = lineAndColumn(this.src.source, pos.start);
    return `${this.src.file}:${line}:${column}`;
  }

  private addClass(st: ClassStatement, classes: Map<Handle, PendingClass>, rootHandle: Handle, root: QdiscStatement): void {
    const kind = root.qdisc.text;
    if (!CLASSFUL.includes(kind as QdiscKind)) this.fail(st.pos, `the root qdisc ${kind} is classless: it takes no classes`);
    if (kind === "prio") this.fail(st.pos, "prio's classes are its bands (1:1 … 1:N): they are made by the qdisc, not added");
    if (st.qdisc.text !== kind) this.fail(st.qdisc.pos, `class of kind ${st.qdisc.text} under the ${kind} qdisc ${formatHandle(rootHandle)} (the class kind must be the qdisc's)`);
    const id = this.handleOf(st.classid);
    if (majorOf(id) !== majorOf(rootHandle)) this.fail(st.classid.pos, `class ${st.classid.text} is not a class of qdisc ${formatHandle(rootHandle)} (its major number must be ${majorOf(rootHandle).toString(16)})`);
    if (minorOf(id) === 0) this.fail(st.classid.pos, `class ${st.classid.text} has minor number 0, which names the qdisc itself`);
    let parent: Handle | undefined;
    if (st.parent && st.parent.text !== "root") {
      const p = this.handleOf(st.parent);
      if (p !== rootHandle) {
        if (!classes.has(p)) this.fail(st.parent.pos, `unknown class id ${st.parent.text} (${this.known(classes, rootHandle)})`);
        if (kind === "drr") this.fail(st.parent.pos, "drr classes have no parent class (drr is one level deep)");
        parent = p;
      }
    }
    const existing = classes.get(id);
    if (existing && st.verb === "add") this.fail(st.classid.pos, `class ${st.classid.text} exists already (${this.where(existing.pos)}); use 'replace' or 'change'`);
    if (!existing && st.verb === "change") this.fail(st.classid.pos, `'change' needs an existing class ${st.classid.text}`);
    if (parent !== undefined) {
      // a cycle is impossible: a parent must exist before its child
      let p: Handle | undefined = parent;
      let depth = 1;
      while (p !== undefined) {
        depth++;
        p = classes.get(p)!.parent;
      }
      if (depth > 8) this.fail(st.pos, "htb classes nest at most 8 levels deep (TC_HTB_MAXDEPTH)");
    }
    classes.set(id, { id, idWord: st.classid, ...(parent !== undefined ? { parent, parentWord: st.parent! } : {}), kind, kindWord: st.qdisc, params: st.params, pos: st.pos, ...(existing?.leaf ? { leaf: existing.leaf } : {}) });
  }

  private known(classes: Map<Handle, PendingClass>, rootHandle: Handle): string {
    const ids = [...classes.keys()].map(formatHandle);
    return ids.length ? `classes of ${formatHandle(rootHandle)}: ${ids.join(", ")}` : `qdisc ${formatHandle(rootHandle)} has no classes`;
  }

  /** A class's qdisc: a FIFO, or sfq, fq_codel or tbf with their own parameters (leaves.ts runs them). */
  private leafParams(st: QdiscStatement): LeafQdisc {
    const kind = st.qdisc.text as QdiscKind;
    if (!LEAF_KINDS.includes(kind)) this.fail(st.qdisc.pos, `${kind} under a class is not supported by kopi: a class's qdisc is ${LEAF_KINDS.join(", ")} (a classful qdisc under a class would need classes and filters of its own, and kopi has them for the root qdisc only)`);
    if (kind === "pfifo" || kind === "bfifo") {
      const p = new Params(this, kind, st.params, ["limit"]);
      const fifo = { pos: st.pos, ...(st.handle ? { handle: this.handleOf(st.handle, "qdisc handle") } : {}) };
      if (kind === "pfifo") return { kind, limit: Math.max(1, p.count("limit", 0, 0xffffffff) ?? DEVICE.txqueuelen), ...fifo };
      return { kind, limit: Math.max(1, p.get("limit", parseSize) ?? DEVICE.txqueuelen * DEVICE.pschedMtu), ...fifo };
    }
    const where = { pos: st.pos, ...(st.handle ? { handle: this.leafHandle(st.handle) } : {}) };
    switch (kind) {
      case "sfq":
        return { ...(this.sfq(st) as SfqQdisc), ...where };
      case "fq_codel":
        return { ...(this.fqCodel(st) as FqCodelQdisc), ...where };
      default:
        return { ...(this.tbf(st) as TbfQdisc), ...where };
    }
  }

  private leafHandle(w: Word): Handle {
    const h = this.handleOf(w, "qdisc handle");
    if (minorOf(h) !== 0) this.fail(w.pos, `a qdisc handle has no minor number: write ${formatHandle(handle(majorOf(h), 0))}`);
    return h;
  }

  private attachLeaf(st: QdiscStatement, kind: QdiscKind, rootHandle: Handle, classes: Map<Handle, PendingClass>, leafHandles: Map<number, Word>): void {
    const parent = this.handleOf(st.parent!);
    const underLeaf = leafHandles.get(majorOf(parent));
    if (underLeaf && majorOf(parent) !== majorOf(rootHandle)) this.fail(st.parent!.pos, `${st.parent!.text} is a class of the leaf qdisc ${underLeaf.text} (at ${this.where(underLeaf.pos)}): kopi runs a qdisc under a class of the root qdisc, not under a leaf qdisc's classes`);
    const warned = this.warnings.length;
    const leaf = this.leafParams(st);
    if (kind === "prio") {
      this.warnings.length = warned; // prio bands are read (and warned about) with the prio parameters (rootParams)
      return;
    }
    if (!CLASSFUL.includes(kind)) this.fail(st.parent!.pos, `the root qdisc ${kind} is classless: no qdisc can be attached below it`);
    const cls = classes.get(parent);
    if (!cls) this.fail(st.parent!.pos, `unknown class id ${st.parent!.text} (${this.known(classes, rootHandle)})`);
    if (cls.leaf && st.verb === "add") this.fail(st.pos, `class ${st.parent!.text} has a qdisc already (${this.where(cls.leaf.stmt.pos)}); use 'replace'`);
    if (kind === "drr" && !isFifoLeaf(leaf)) {
      // drr_dequeue peeks: the kernel takes the leaf's next packet out of it to compare its length with the deficit,
      // and keeps it aside until it fits; the queue model holds packets only in queues, so a leaf whose choice
      // changes its own state (sfq's and fq_codel's rounds, CoDel, tbf's tokens) cannot be peeked
      this.fail(st.qdisc.pos, `${leaf.kind} under a drr class is not supported by kopi: drr peeks at its leaf's next packet, which Linux takes out of the leaf and keeps aside, and the NIC's queue model can only hold a packet in a queue; use pfifo or bfifo under drr, or ${leaf.kind} under htb or prio`);
    }
    cls.leaf = { stmt: st, leaf };
  }

  private rootParams(st: QdiscStatement, kind: QdiscKind, classes: Map<Handle, PendingClass>, rootHandle: Handle): QdiscParams {
    switch (kind) {
      case "pfifo":
      case "bfifo":
        return this.leafParams(st);
      case "prio":
        return this.prio(st, rootHandle);
      case "tbf":
        return this.tbf(st);
      case "htb":
        return this.htb(st, classes, rootHandle);
      case "drr": {
        new Params(this, "drr", st.params, []);
        const list: DrrClass[] = [...classes.values()].map((c) => {
          const cp = new Params(this, "drr class", c.params, ["quantum"]);
          const quantum = cp.get("quantum", parseSize) ?? DEVICE.pschedMtu;
          if (quantum === 0) this.fail(cp.word("quantum")!.pos, "drr quantum must be above 0");
          return { id: c.id, quantum, leaf: c.leaf?.leaf ?? { kind: "pfifo", limit: DEVICE.txqueuelen }, pos: c.pos };
        });
        list.sort((a, b) => a.id - b.id);
        return { kind: "drr", classes: list };
      }
      case "sfq":
        return this.sfq(st);
      case "fq_codel":
        return this.fqCodel(st);
    }
  }

  private prio(st: QdiscStatement, rootHandle: Handle): QdiscParams {
    let bands = 3;
    let priomap = [...DEFAULT_PRIOMAP];
    const ws = st.params;
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k]!;
      if (w.text === "bands") {
        const v = ws[++k];
        if (!v) this.fail(w.pos.end, "expected a number of bands after 'bands'");
        try {
          bands = parseCount(v.text, "a number of bands");
        } catch (e) {
          if (e instanceof UnitError) this.fail(v.pos, e.message);
          throw e;
        }
        if (bands < 2 || bands > 16) this.fail(v.pos, `prio bands ${bands} is outside 2 … 16`);
      } else if (w.text === "priomap") {
        const values: Word[] = [];
        while (ws[k + 1] && /^\d+$/.test(ws[k + 1]!.text) && values.length < 16) values.push(ws[++k]!);
        if (values.length === 0) this.fail(w.pos.end, "expected up to 16 band numbers after 'priomap'");
        priomap = DEFAULT_PRIOMAP.map((d, i) => (values[i] ? Number(values[i]!.text) : 0));
        values.forEach((v, i) => {
          if (priomap[i]! >= bands) this.fail(v.pos, `priomap names band ${priomap[i]}, but prio has ${bands} bands (0 … ${bands - 1})`);
        });
      } else this.fail(w.pos, `unknown prio parameter '${w.text}' (prio takes bands, priomap)`);
    }
    for (let i = 0; i < 16; i++) if (priomap[i]! >= bands) this.fail(st.pos, `the default priomap names band ${priomap[i]}, but prio has ${bands} bands: give a priomap`);
    const leaves: LeafQdisc[] = Array.from({ length: bands }, () => ({ kind: "pfifo", limit: DEVICE.txqueuelen }));
    // leaf qdiscs attached to bands: parent MAJOR:N is band N − 1
    for (const s of this.src.statements) {
      if (s.kind !== "qdisc" || !s.parent || s.parent.text === "root") continue;
      const parent = this.handleOf(s.parent);
      if (majorOf(parent) !== majorOf(rootHandle) || minorOf(parent) < 1 || minorOf(parent) > bands) this.fail(s.parent.pos, `unknown class id ${s.parent.text} (prio ${formatHandle(rootHandle)} has bands ${formatHandle(handle(majorOf(rootHandle), 1))} … ${formatHandle(handle(majorOf(rootHandle), bands))})`);
      leaves[minorOf(parent) - 1] = this.leafParams(s);
    }
    return { kind: "prio", bands, priomap, leaves };
  }

  private tbf(st: QdiscStatement): QdiscParams {
    const p = new Params(this, "tbf", st.params, ["rate", "burst", "limit", "latency", "peakrate", "mtu"], [], { buffer: "burst", maxburst: "burst", minburst: "mtu" });
    const rate = p.get("rate", parseRate);
    if (rate === undefined) this.fail(st.qdisc.pos, "tbf needs 'rate' (such as rate 1mbit)");
    if (rate === 0) this.fail(p.word("rate")!.pos, "tbf rate must be above 0");
    const burst = p.get("burst", parseSize);
    if (burst === undefined) this.fail(st.qdisc.pos, "tbf needs 'burst' (the bucket size, such as burst 32kbit)");
    if (burst === 0) this.fail(p.word("burst")!.pos, "tbf burst must be above 0");
    if (p.has("limit") && p.has("latency")) this.fail(p.word("latency")!.pos, "tbf takes 'limit' or 'latency', not both");
    const peakrate = p.get("peakrate", parseRate);
    const mtu = p.get("mtu", parseSize);
    if (peakrate !== undefined && mtu === undefined) this.fail(p.word("peakrate")!.pos, "tbf with 'peakrate' needs 'mtu' (the peak bucket size, such as mtu 1514)");
    if (peakrate !== undefined && peakrate <= rate) this.fail(p.word("peakrate")!.pos, `peakrate ${formatRate(peakrate)} must be above rate ${formatRate(rate)} (the kernel refuses it)`);
    let limit = p.get("limit", parseSize);
    const latencyUs = p.get("latency", parseTime);
    if (limit === undefined && latencyUs === undefined) this.fail(st.qdisc.pos, "tbf needs 'limit' (bytes) or 'latency' (time)");
    if (latencyUs !== undefined) {
      // tc's q_tbf.c: limit = rate × latency + burst, or the peak's if smaller
      let lim = (rate * latencyUs) / 1e6 + burst;
      if (peakrate !== undefined) lim = Math.min(lim, (peakrate * latencyUs) / 1e6 + mtu!);
      limit = Math.floor(lim);
    }
    if (burst < DEVICE.pschedMtu) this.warn(p.word("burst")!.pos, `burst ${burst} bytes is below the device MTU (${DEVICE.pschedMtu}): packets larger than the burst are dropped (the kernel warns too)`);
    return { kind: "tbf", rate, burst, limit: limit!, ...(latencyUs !== undefined ? { latencyUs } : {}), ...(peakrate !== undefined ? { peakrate, mtu: mtu! } : {}) };
  }

  private htb(st: QdiscStatement, classes: Map<Handle, PendingClass>, rootHandle: Handle): QdiscParams {
    const p = new Params(this, "htb", st.params, ["default", "r2q", "direct_qlen"]);
    const defWord = p.word("default");
    let defaultMinor = 0;
    if (defWord) {
      if (!/^(0x)?[0-9a-fA-F]+$/.test(defWord.text)) this.fail(defWord.pos, `'${defWord.text}' is not a class minor number (hex, such as default 30 for class ${majorOf(rootHandle).toString(16)}:30)`);
      defaultMinor = parseInt(defWord.text.replace(/^0x/, ""), 16);
      if (defaultMinor > 0xffff) this.fail(defWord.pos, `default ${defWord.text} is over ffff`);
    }
    const r2q = p.count("r2q", 1, 0xffffffff) ?? 10;
    const directQlen = p.count("direct_qlen", 0, 0xffffffff) ?? DEVICE.txqueuelen;
    const hasChild = new Set<Handle>();
    for (const c of classes.values()) if (c.parent !== undefined) hasChild.add(c.parent);
    const list: HtbClass[] = [];
    const ratePos = new Map<Handle, Pos>();
    for (const c of classes.values()) {
      const cp = new Params(this, "htb class", c.params, ["rate", "ceil", "burst", "cburst", "prio", "quantum", "mtu"], [], { buffer: "burst", maxburst: "burst", cbuffer: "cburst" });
      const rate = cp.get("rate", parseRate);
      if (rate === undefined) this.fail(c.kindWord.pos, `htb class ${c.idWord.text} needs 'rate' (such as rate 10mbit)`);
      if (rate === 0) this.fail(cp.word("rate")!.pos, "htb rate must be above 0");
      ratePos.set(c.id, cp.word("rate")!.pos);
      const ceil = cp.get("ceil", parseRate) ?? rate;
      if (ceil === 0) this.fail(cp.word("ceil")!.pos, "htb ceil must be above 0");
      if (ceil < rate) this.warn(cp.word("ceil")!.pos, `ceil ${formatRate(ceil)} is below rate ${formatRate(rate)}: the class can never reach its rate`);
      const mtu = cp.get("mtu", parseSize) ?? HTB_TC_MTU;
      const burst = cp.get("burst", parseSize) ?? Math.floor(rate / PSCHED_HZ + mtu);
      const cburst = cp.get("cburst", parseSize) ?? Math.floor(ceil / PSCHED_HZ + mtu);
      let prio = cp.count("prio", 0, 0xffffffff) ?? 0;
      if (prio > HTB_DEFAULT_PRIO_LIMIT) {
        this.warn(cp.word("prio")!.pos, `htb prio ${prio} is above 7: Linux uses 7`);
        prio = HTB_DEFAULT_PRIO_LIMIT;
      }
      const given = cp.get("quantum", parseSize);
      let quantum = given ?? Math.floor(rate / r2q);
      if (given === undefined && quantum < 1000) {
        this.warn(cp.word("rate")!.pos, `quantum of class ${c.idWord.text} is small (rate / r2q = ${quantum} bytes): Linux uses 1000; consider a smaller r2q or an explicit quantum`);
        quantum = 1000;
      }
      if (given === undefined && quantum > 200000) {
        this.warn(cp.word("rate")!.pos, `quantum of class ${c.idWord.text} is big (rate / r2q = ${quantum} bytes): Linux uses 200000; consider a larger r2q or an explicit quantum`);
        quantum = 200000;
      }
      if (given === 0) this.fail(cp.word("quantum")!.pos, "htb quantum must be above 0");
      if (c.leaf && hasChild.has(c.id)) this.fail(c.leaf.stmt.parent!.pos, `class ${c.idWord.text} has child classes: only a leaf class takes a qdisc`);
      list.push({
        id: c.id,
        ...(c.parent !== undefined ? { parent: c.parent } : {}),
        rate,
        ceil,
        burst,
        cburst,
        prio,
        quantum,
        quantumGiven: given !== undefined,
        ...(hasChild.has(c.id) ? {} : { leaf: c.leaf?.leaf ?? { kind: "pfifo", limit: DEVICE.txqueuelen } }),
        pos: c.pos,
      });
    }
    list.sort((a, b) => a.id - b.id);
    const byId = new Map(list.map((c) => [c.id, c]));
    for (const c of list) {
      if (c.parent === undefined) continue;
      const parent = byId.get(c.parent)!;
      if (c.rate > parent.rate) this.warn(ratePos.get(c.id)!, `class ${formatHandle(c.id)}'s rate ${formatRate(c.rate)} is above its parent ${formatHandle(parent.id)}'s rate ${formatRate(parent.rate)}: the parent cannot guarantee it`);
    }
    // the children's guaranteed rates together above the parent's: also a promise the parent cannot keep
    for (const parent of list) {
      const kids = list.filter((c) => c.parent === parent.id);
      const sum = kids.reduce((n, c) => n + c.rate, 0);
      if (kids.length > 1 && sum > parent.rate) this.warn(parent.pos, `the rates of ${formatHandle(parent.id)}'s children add up to ${formatRate(sum)}, above its rate ${formatRate(parent.rate)}: not every child can get its rate`);
    }
    if (defWord && defaultMinor !== 0) {
      const def = byId.get(handle(majorOf(rootHandle), defaultMinor));
      if (!def) this.warn(defWord.pos, `default ${defWord.text} names no class (${this.known(classes, rootHandle)}): unclassified packets go to the direct queue and are sent unshaped`);
      else if (!def.leaf) this.warn(defWord.pos, `default ${defWord.text} names the inner class ${formatHandle(def.id)}: Linux sends unclassified packets to the direct queue, unshaped`);
    }
    return { kind: "htb", r2q, defaultMinor, directQlen, classes: list };
  }

  private sfq(st: QdiscStatement): QdiscParams {
    const p = new Params(this, "sfq", st.params, ["limit", "perturb", "quantum", "divisor", "flows", "depth"], ["headdrop"]);
    const depth = p.count("depth", 1, 127) ?? 127;
    let flows = p.count("flows", 1, 65408) ?? 128;
    const divisor = p.count("divisor", 1, 65536) ?? 1024;
    if ((divisor & (divisor - 1)) !== 0) this.fail(p.word("divisor")!.pos, `sfq divisor ${divisor} must be a power of 2`);
    let limit = 127;
    const given = p.count("limit", 1, 0xffffffff);
    if (given !== undefined) {
      // sfq_change: the limit is at most depth × flows, and there are at most limit flows
      limit = Math.min(given, depth * flows);
      flows = Math.min(flows, limit);
    }
    const quantum = p.get("quantum", parseSize) ?? DEVICE.pschedMtu;
    if (quantum === 0) this.fail(p.word("quantum")!.pos, "sfq quantum must be above 0");
    const perturbSec = p.count("perturb", 0, 0xffffffff) ?? 0;
    return { kind: "sfq", limit, depth, quantum, divisor, flows, perturbSec, headdrop: p.has("headdrop") };
  }

  private fqCodel(st: QdiscStatement): QdiscParams {
    const p = new Params(this, "fq_codel", st.params, ["limit", "flows", "target", "interval", "quantum", "memory_limit", "drop_batch"], ["ecn", "noecn"]);
    if (p.has("ecn") && p.has("noecn")) this.fail(p.word("noecn")!.pos, "'ecn' and 'noecn' contradict each other");
    const flows = p.count("flows", 1, 65536) ?? 1024;
    const quantum = p.get("quantum", parseSize) ?? DEVICE.pschedMtu;
    if (quantum === 0) this.fail(p.word("quantum")!.pos, "fq_codel quantum must be above 0");
    const targetUs = p.get("target", parseTime) ?? 5000;
    const intervalUs = p.get("interval", parseTime) ?? 100_000;
    if (intervalUs === 0) this.fail(p.word("interval")!.pos, "fq_codel interval must be above 0");
    return {
      kind: "fq_codel",
      limit: p.count("limit", 1, 0xffffffff) ?? 10240,
      flows,
      targetUs,
      intervalUs,
      quantum,
      ecn: !p.has("noecn"),
      memoryLimit: p.get("memory_limit", parseSize) ?? 32 << 20,
      dropBatch: p.count("drop_batch", 1, 64) ?? 64,
    };
  }

  private filter(f: FilterStatement, order: number, kind: QdiscKind, rootHandle: Handle, params: QdiscParams, classes: Map<Handle, PendingClass>): QosFilter {
    if (f.parent && f.parent.text !== "root") {
      const parent = this.handleOf(f.parent);
      if (parent !== rootHandle && !(majorOf(parent) === majorOf(rootHandle) && minorOf(parent) === 0)) {
        if (classes.has(parent)) this.fail(f.parent.pos, `filters attached to class ${f.parent.text} are not supported by kopi: attach them to the qdisc ${formatHandle(rootHandle)}`);
        this.fail(f.parent.pos, `unknown parent ${f.parent.text}: filters attach to the root qdisc ${formatHandle(rootHandle)}`);
      }
    }
    if (!CLASSFUL.includes(kind) && kind !== "sfq" && kind !== "fq_codel") this.fail(f.pos, `the root qdisc ${kind} is classless: it takes no filters`);
    let prio = 0;
    if (f.prio) {
      try {
        prio = parseCount(f.prio.text, "a filter priority", 0xffff);
      } catch (e) {
        if (e instanceof UnitError) this.fail(f.prio.pos, e.message);
        throw e;
      }
    }
    const targetWord = f.target!;
    const target = this.handleOf(targetWord, "class id (flowid)");
    const bad: (what: string) => never = (what) => this.fail(targetWord.pos, `unknown class id ${targetWord.text} (${what})`);
    if (majorOf(target) !== majorOf(rootHandle) && target !== ROOT_HANDLE) bad(`classes of this qdisc are ${majorOf(rootHandle).toString(16)}:N`);
    const minor = minorOf(target);
    switch (params.kind) {
      case "htb":
        if (minor !== 0) {
          const c = params.classes.find((x) => x.id === target);
          if (!c) bad(this.known(classes, rootHandle));
          if (!c.leaf) this.warn(targetWord.pos, `flowid ${targetWord.text} is an inner class: Linux goes on with that class's own filters (kopi has none there), so these packets go to the default class`);
        }
        break;
      case "drr":
        if (!params.classes.some((x) => x.id === target)) bad(this.known(classes, rootHandle));
        break;
      case "prio":
        if (minor < 1 || minor > params.bands) this.warn(targetWord.pos, `flowid ${targetWord.text} is no band of prio ${formatHandle(rootHandle)} (1 … ${params.bands}): Linux sends these packets to band ${params.priomap[0]} (priomap of priority 0)`);
        break;
      case "sfq":
        if (minor < 1 || minor > params.divisor) bad(`sfq ${formatHandle(rootHandle)} has flows ${formatHandle(handle(majorOf(rootHandle), 1))} … ${formatHandle(handle(majorOf(rootHandle), params.divisor))}`);
        break;
      case "fq_codel":
        if (minor < 1 || minor > params.flows) bad(`fq_codel ${formatHandle(rootHandle)} has flows ${formatHandle(handle(majorOf(rootHandle), 1))} … ${formatHandle(handle(majorOf(rootHandle), params.flows))}`);
        break;
      default:
        break;
    }
    return { prio, order, matches: f.matches, target, targetPos: targetWord.pos, pos: f.pos, text: f.text };
  }
}

export function lowerQos(src: QosSource): { policy: QosPolicy; warnings: QosWarning[] } {
  const l = new Lowerer(src);
  const policy = l.lower();
  return { policy, warnings: l.warnings };
}

export { burstTimeNs as tcBurstTimeNs };
