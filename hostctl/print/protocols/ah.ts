/** IPsec AH and ESP headers (tcpdump's ah_print, esp_print without keys). */
import type { Dissector } from "../dissector.js";
import { hex2 } from "../dissector.js";

/** AH: SPI, sequence and ICV; returns the header length to skip. */
export function ahPrint(nd: Dissector, at: number): number {
  nd.protocol = "ah";
  nd.print("AH");
  const ahLength = nd.u8(at + 1);
  const headerLength = (ahLength + 2) * 4;
  nd.print("(");
  if (nd.options.verbose) nd.print(`length=${ahLength}(${headerLength}-bytes),`);
  const reserved = nd.be16(at + 2);
  if (reserved) nd.print(`reserved=0x${reserved.toString(16)}[MustBeZero],`);
  nd.print(`spi=0x${nd.be32(at + 4).toString(16).padStart(8, "0")},`);
  nd.print(`seq=0x${nd.be32(at + 8).toString(16)},`);
  nd.print("icv=0x");
  for (let p = at + 12; p < at + headerLength; p++) nd.print(hex2(nd.u8(p)));
  nd.print("): ");
  return headerLength;
}

/** ESP without decryption keys: SPI and sequence number. */
export function espPrint(nd: Dissector, at: number, length: number): void {
  nd.protocol = "esp";
  if (at + 8 >= nd.end) {
    nd.printTrunc();
    return;
  }
  nd.print(`ESP(spi=0x${nd.be32(at).toString(16).padStart(8, "0")}`);
  nd.print(`,seq=0x${nd.be32(at + 4).toString(16)}), length ${length}`);
}
