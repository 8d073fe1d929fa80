/**
 * Textual assembler for the overlay. Syntax (see README.md):
 *
 *   ; comment                     # comment
 *   .kind filter|policy|scheduler
 *   .counters N
 *   .table NAME KIND capacity N key FIELD[, FIELD…]
 *   .const NAME VALUE             decimal, 0x hex, IPv4, IPv6 or MAC
 *   .word 0xHHHHHHHHHHHHHHHH      a raw instruction word (what the disassembler prints for an unknown opcode)
 *   label:  mnemonic operand, operand, …
 *
 * Every error is a SourceError at the offending token. Backward jumps assemble (the verifier rejects them with
 * the instruction index), so a broken program can still be written down and examined.
 */
import { SourceError } from "./diagnostics.js";
import { fieldByName } from "./fields.js";
import { PROGRAM_KINDS, type ProgramImage, type ProgramKind, type TableDecl } from "./image.js";
import { encodeOperands, type OperandValue, type RawInsn } from "./instruction.js";
import { LIMITS } from "./limits.js";
import { MEM_BASES, TABLE_KINDS, opcodesByMnemonic, type OpcodeSpec, type OperandKind, type TableKind } from "./opcodes.js";
import { parseInteger, parseIPv4, parseIPv6, parseMAC } from "./values.js";
import { encodeVerdict, type RejectHow, type Verdict } from "./verdicts.js";

export interface AssembleResult {
  image: ProgramImage;
  /** source line (1-based) of each instruction, for mapping verifier errors back to text */
  lines: number[];
  /** source column (1-based) of each instruction's mnemonic */
  columns: number[];
}

interface Token {
  text: string;
  col: number; // 1-based
}

interface PendingJump {
  index: number;
  operand: number;
  label: Token;
  line: number;
  lineText: string;
}

const LABEL_RE = /^[A-Za-z_.$][\w.$]*$/;

/** Split text at top-level commas, keeping each part's column. */
function splitOperands(text: string, col: number): Token[] {
  const out: Token[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    if (i === text.length || (c === "," && depth === 0)) {
      const raw = text.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      out.push({ text: raw.trim(), col: col + start + lead });
      start = i + 1;
    }
  }
  return out;
}

function isRegister(text: string): boolean {
  return /^r\d+$/.test(text);
}

export function assemble(source: string, file = "<asm>"): AssembleResult {
  const lines = source.split("\n");
  let kind: ProgramKind = "filter";
  let counters = 0;
  const tables: TableDecl[] = [];
  const tableNames = new Map<string, number>();
  const constants: bigint[] = [];
  const constNames = new Map<string, number>();
  const code: RawInsn[] = [];
  const codeLines: number[] = [];
  const codeColumns: number[] = [];
  const labels = new Map<string, number>();
  const pending: PendingJump[] = [];

  lines.forEach((rawLine, li) => {
    const lineNo = li + 1;
    const lineText = rawLine.replace(/\r$/, "");
    const fail = (col: number, msg: string): never => {
      throw new SourceError(file, lineNo, col, msg, lineText);
    };
    let text = lineText;
    const comment = text.search(/[;#]/);
    if (comment >= 0) text = text.slice(0, comment);
    let col = 1;
    // labels
    for (;;) {
      const m = /^(\s*)([A-Za-z_.$][\w.$]*):/.exec(text);
      if (!m || m[2]!.startsWith(".")) break;
      const name = m[2]!;
      if (labels.has(name)) fail(col + m[1]!.length, `label ${name} is defined twice`);
      labels.set(name, code.length);
      col += m[0].length;
      text = text.slice(m[0].length);
    }
    const lead = text.length - text.trimStart().length;
    col += lead;
    text = text.trim();
    if (text === "") return;
    const sp = text.search(/\s/);
    const word = sp < 0 ? text : text.slice(0, sp);
    const rest = sp < 0 ? "" : text.slice(sp).trimStart();
    const restCol = col + (sp < 0 ? text.length : text.length - rest.length);

    if (word.startsWith(".")) {
      directive(word, rest, restCol);
      return;
    }
    const specs = opcodesByMnemonic(word);
    if (specs.length === 0) fail(col, `unknown mnemonic '${word}'`);
    instruction(specs, word, rest, restCol);

    function directive(name: string, args: string, argCol: number): void {
      const parts = args.split(/\s+/).filter((s) => s !== "");
      switch (name) {
        case ".kind": {
          if (!PROGRAM_KINDS.includes(parts[0] as ProgramKind)) fail(argCol, `expected a program kind (${PROGRAM_KINDS.join(", ")})`);
          kind = parts[0] as ProgramKind;
          return;
        }
        case ".counters": {
          const n = parts.length === 1 ? parseInteger(parts[0]!) : undefined;
          if (n === undefined || n > BigInt(LIMITS.counters)) fail(argCol, `expected a counter count from 0 to ${LIMITS.counters}`);
          counters = Number(n);
          return;
        }
        case ".const": {
          const m = /^(\S+)\s+(\S+)$/.exec(args);
          if (!m) fail(argCol, "expected .const NAME VALUE");
          const cname = m![1]!;
          if (!LABEL_RE.test(cname)) fail(argCol, `'${cname}' is not a valid constant name`);
          if (constNames.has(cname)) fail(argCol, `constant ${cname} is defined twice`);
          const value = parseConstant(m![2]!);
          if (value === undefined) fail(argCol + args.indexOf(m![2]!), `'${m![2]}' is not a number, IPv4, IPv6 or MAC address`);
          if (constants.length >= LIMITS.constants) fail(argCol, `more than ${LIMITS.constants} constants`);
          constNames.set(cname, constants.length);
          constants.push(value!);
          return;
        }
        case ".table": {
          const m = /^(\S+)\s+(\S+)\s+capacity\s+(\S+)\s+key\s+(.+)$/.exec(args);
          if (!m) fail(argCol, "expected .table NAME KIND capacity N key FIELD[, FIELD…]");
          const [, tname, tkind, cap, keys] = m!;
          if (!LABEL_RE.test(tname!)) fail(argCol, `'${tname}' is not a valid table name`);
          if (tableNames.has(tname!)) fail(argCol, `table ${tname} is defined twice`);
          if (!TABLE_KINDS.includes(tkind as TableKind)) fail(argCol + args.indexOf(tkind!, tname!.length), `expected a table kind (${TABLE_KINDS.join(", ")})`);
          const capacity = parseInteger(cap!);
          if (capacity === undefined || capacity < 1n || capacity > BigInt(LIMITS.tableEntries)) fail(argCol + args.indexOf(" capacity ") + 10, `capacity must be 1..${LIMITS.tableEntries}`);
          const keyCol = argCol + args.lastIndexOf(keys!);
          const keyFields = splitOperands(keys!, keyCol).map((tok) => {
            const f = fieldByName(tok.text);
            if (!f) fail(tok.col, `unknown field '${tok.text}'`);
            return f!.id;
          });
          if (keyFields.length > LIMITS.keyFields) fail(keyCol, `at most ${LIMITS.keyFields} key fields`);
          if (tables.length >= LIMITS.tables) fail(argCol, `more than ${LIMITS.tables} tables`);
          tableNames.set(tname!, tables.length);
          tables.push({ kind: tkind as TableKind, keyFields, capacity: Number(capacity) });
          return;
        }
        case ".word": {
          const v = parts.length === 1 ? parseInteger(parts[0]!) : undefined;
          if (v === undefined || v >= 1n << 64n) fail(argCol, "expected a 64-bit instruction word");
          const w = v!;
          code.push({
            op: Number(w & 0xffn),
            a: Number((w >> 8n) & 0xfn),
            b: Number((w >> 12n) & 0xfn),
            off: Number((w >> 16n) & 0xffffn),
            imm: Number((w >> 32n) & 0xffffffffn),
          });
          codeLines.push(lineNo);
          codeColumns.push(col);
          return;
        }
        default:
          fail(col, `unknown directive '${name}' (known: .kind, .counters, .table, .const, .word)`);
      }
    }

    function instruction(candidates: readonly OpcodeSpec[], mnemonic: string, args: string, argCol: number): void {
      const tokens = args === "" ? [] : splitOperands(args, argCol);
      // pick the encoding whose operand shapes fit: a register where it takes a register
      const fits = (s: OpcodeSpec) =>
        s.operands.length === tokens.length &&
        s.operands.every((k, i) => {
          const reg = isRegister(tokens[i]!.text);
          if (k === "rd" || k === "ra" || k === "rs" || k === "rt") return reg;
          if (k === "imm" || k === "verdict") return !reg;
          if (k === "counterx") return tokens[i]!.text.includes("[");
          if (k === "counter") return !tokens[i]!.text.includes("[");
          return true;
        });
      // pick the encoding whose operand shapes fit (a register where it takes one); else report on the first
      const spec = candidates.find(fits) ?? candidates.find((s) => s.operands.length === tokens.length);
      if (!spec) {
        const forms = candidates.map((s) => `${mnemonic} ${s.operands.join(", ")}`).join(" or ");
        const counts = [...new Set(candidates.map((s) => s.operands.length))].join(" or ");
        fail(tokens[0]?.col ?? argCol, `${mnemonic} takes ${counts} operands (${forms}), got ${tokens.length}`);
      }
      const index = code.length;
      const values: OperandValue[] = [];
      let fieldBits = 0;
      spec!.operands.forEach((k, i) => {
        const tok = tokens[i]!;
        const v = operand(k, tok, index, i, fieldBits);
        if (k === "field") fieldBits = fieldByName(tok.text)!.bits;
        values.push(v);
      });
      code.push(encodeOperands(spec!, values));
      codeLines.push(lineNo);
      codeColumns.push(col);
    }

    function register(tok: Token): number {
      const m = /^r(\d+)$/.exec(tok.text);
      if (!m || Number(m[1]) >= LIMITS.registers) fail(tok.col, `expected a register r0..r${LIMITS.registers - 1}, got '${tok.text}'`);
      return Number(m![1]);
    }

    function immediate(tok: Token): number {
      let v: bigint | undefined = parseInteger(tok.text);
      if (v === undefined && /^-\d+$/.test(tok.text)) v = BigInt(tok.text) & 0xffffffffn;
      if (v === undefined) {
        const ip = parseIPv4(tok.text);
        if (ip !== undefined) v = BigInt(ip);
      }
      if (v === undefined) fail(tok.col, `expected a 32-bit number, got '${tok.text}'`);
      if (v! > 0xffffffffn) fail(tok.col, `${tok.text} does not fit 32 bits (load wider constants with ldk)`);
      return Number(v);
    }

    function operand(k: OperandKind, tok: Token, index: number, position: number, fieldBits: number): OperandValue {
      if (tok.text === "") fail(tok.col, `missing operand (${k})`);
      switch (k) {
        case "rd":
        case "ra":
        case "rs":
        case "rt":
          return register(tok);
        case "imm":
          return immediate(tok);
        case "target": {
          const rel = /^([+-]\d+)$/.exec(tok.text);
          if (rel) {
            const off = Number(rel[1]);
            if (off < -32768 || off > 32767) fail(tok.col, "jump offset does not fit 16 bits");
            return off;
          }
          if (!LABEL_RE.test(tok.text)) fail(tok.col, `expected a label or +N, got '${tok.text}'`);
          pending.push({ index, operand: position, label: tok, line: lineNo, lineText });
          return 0;
        }
        case "field":
        case "wfield": {
          const f = fieldByName(tok.text);
          if (!f) fail(tok.col, `unknown field '${tok.text}'`);
          if (k === "wfield" && !f!.writable) fail(tok.col, `${f!.name} is not writable (only meta.* fields are)`);
          return f!.id;
        }
        case "table": {
          const named = tableNames.get(tok.text);
          if (named !== undefined) return named;
          const m = /^t(\d+)$/.exec(tok.text);
          if (!m) fail(tok.col, `unknown table '${tok.text}'`);
          return Number(m![1]);
        }
        case "counter": {
          const m = /^c(\d+)$/.exec(tok.text);
          if (!m) fail(tok.col, `expected a counter cN, got '${tok.text}'`);
          return Number(m![1]) >>> 0;
        }
        case "counterx": {
          const m = /^c(\d+)\[\s*(r\d+)\s*\]$/.exec(tok.text);
          if (!m) fail(tok.col, `expected an indexed counter cN[rM], got '${tok.text}'`);
          return { base: Number(m![1]) >>> 0, index: register({ text: m![2]!, col: tok.col + tok.text.indexOf(m![2]!) }) };
        }
        case "const":
          return constantRef(tok.text, tok.col);
        case "kprefix": {
          const m = /^([^/\s]+)(?:\/(\d+))?$/.exec(tok.text);
          if (!m) fail(tok.col, `expected a constant with a prefix length, like k0/24`);
          const prefix = m![2] === undefined ? fieldBits : Number(m![2]);
          if (prefix > 255) fail(tok.col, "prefix length must be below 256");
          return { index: constantRef(m![1]!, tok.col), prefix };
        }
        case "mem":
          return memory(tok);
        case "verdict":
          return verdict(tok);
      }
    }

    function constantRef(text: string, c: number): number {
      const named = constNames.get(text);
      if (named !== undefined) return named;
      const m = /^k(\d+)$/.exec(text);
      if (!m) fail(c, `unknown constant '${text}'`);
      return Number(m![1]) & 0xffff;
    }

    function memory(tok: Token): OperandValue {
      const m = /^\[(.*)\]$/.exec(tok.text);
      if (!m) fail(tok.col, "expected a packet address like [pkt + 14] or [l4 + r2 + 2]");
      const terms = m![1]!.split("+").map((s) => s.trim());
      const base = MEM_BASES.indexOf(terms[0] as (typeof MEM_BASES)[number]);
      if (base < 0) fail(tok.col + 1, `expected a base (${MEM_BASES.join(", ")}), got '${terms[0]}'`);
      let index: number | undefined;
      let offset = 0;
      for (const t of terms.slice(1)) {
        const tcol = tok.col + tok.text.indexOf(t, 1);
        if (isRegister(t)) {
          if (index !== undefined) fail(tcol, "at most one index register");
          index = register({ text: t, col: tcol });
        } else {
          offset = immediate({ text: t, col: tcol });
        }
      }
      return index === undefined ? { base, offset } : { base, index, offset };
    }

    function verdict(tok: Token): number {
      const words = tok.text.split(/\s+/);
      const bad = () => fail(tok.col, `expected a verdict: accept, drop, queue N, reject [tcp-reset | icmp TYPE CODE | icmpv6 TYPE CODE]`);
      let v: Verdict | undefined;
      if (words.length === 1 && (words[0] === "accept" || words[0] === "drop")) v = { kind: words[0] };
      else if (words[0] === "queue" && words.length === 2) {
        const q = parseInteger(words[1]!);
        if (q === undefined || q >= BigInt(LIMITS.queues)) fail(tok.col, `queue number must be 0..${LIMITS.queues - 1}`);
        v = { kind: "queue", queue: Number(q) };
      } else if (words[0] === "reject") {
        if (words.length === 1) v = { kind: "reject", how: "default" };
        else if (words.length === 2 && words[1] === "tcp-reset") v = { kind: "reject", how: "tcp-reset" };
        else if (words.length === 4 && (words[1] === "icmp" || words[1] === "icmpv6")) {
          const t = parseInteger(words[2]!);
          const c = parseInteger(words[3]!);
          if (t === undefined || c === undefined || t > 255n || c > 255n) fail(tok.col, "ICMP type and code are numbers 0..255");
          v = { kind: "reject", how: words[1] as RejectHow, type: Number(t), code: Number(c) };
        }
      }
      if (!v) bad();
      return encodeVerdict(v!);
    }
  });

  for (const j of pending) {
    const target = labels.get(j.label.text);
    if (target === undefined) throw new SourceError(file, j.line, j.label.col, `undefined label '${j.label.text}'`, j.lineText);
    const off = target - (j.index + 1);
    if (off < -32768 || off > 32767) throw new SourceError(file, j.line, j.label.col, `jump to ${j.label.text} is ${off} instructions away; offsets are 16-bit`, j.lineText);
    code[j.index]!.off = off & 0xffff;
  }
  return { image: { kind, tables, counters, constants, code }, lines: codeLines, columns: codeColumns };
}

function parseConstant(text: string): bigint | undefined {
  const n = parseInteger(text);
  if (n !== undefined) return n < 1n << 128n ? n : undefined;
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return BigInt(v4);
  const mac = parseMAC(text);
  if (mac !== undefined) return BigInt(mac);
  return parseIPv6(text);
}
