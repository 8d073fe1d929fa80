/** Streaming pcap/pcapng input and output for hostctl. */
export * from "./packet.js";
export * from "./capture-file-error.js";
export * from "./link-types.js";
export * from "./byte-window.js";
export * from "./capture-decoder.js";
export * from "./capture-reader.js";
export * from "./byte-sink.js";
export * from "./pcap-writer.js";
export * from "./pcapng-writer.js";
export * from "./packet-source.js";
