/** The overlay ISA: one opcode table and everything derived from it. Imports nothing else of kopi's. */
export * from "./opcodes.js";
export * from "./fields.js";
export * from "./limits.js";
export * from "./verdicts.js";
export * from "./instruction.js";
export * from "./image.js";
export * from "./assembler.js";
export * from "./disassembler.js";
export * from "./verifier.js";
export * from "./diagnostics.js";
export * from "./values.js";
