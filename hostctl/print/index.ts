/** tcpdump-style packet printing for hostctl. */
export { PacketPrinter, isDecodedDlt } from "./packet-printer.js";
export { DEFAULT_PRINT_OPTIONS, type PrintOptions, type TimestampStyle } from "./print-options.js";
