/**
 * The pcap-filter grammar (libpcap 1.10.3's grammar.y, rule for rule) as an ohm grammar over the scanner's
 * tokens. The scanner (lexer.ts) reproduces flex's longest-match tokenisation, which a PEG cannot express on raw
 * text; the parser then matches a string in which every token is written as `<KIND>`.
 *
 * Two yacc behaviours are not expressible in a PEG and are applied by the semantics instead: arithmetic
 * precedence (parse.ts resolves `Arth`'s flat operand list exactly as yacc's %left/%prec declarations and its
 * shift preference do), and the qualifier inheritance of `host a or b` (gencode.ts, from the tree's shape).
 */
import * as ohm from "ohm-js";
import { cachedGrammar } from "../grammar-cache.js";

const PNAMES = [
  "LINK", "IP", "ARP", "RARP", "SCTP", "TCP", "UDP", "ICMP", "IGMP", "IGRP", "PIM", "VRRP", "CARP", "ATALK", "AARP",
  "DECNET", "LAT", "SCA", "MOPDL", "MOPRC", "IPV6", "ICMPV6", "AH", "ESP", "ISO", "ESIS", "ISIS", "L1", "L2", "IIH",
  "LSP", "SNP", "PSNP", "CSNP", "CLNP", "STP", "IPX", "NETBEUI", "RADIO",
];

const alts = (kinds: readonly string[]) => kinds.map((k) => `"<${k}>"`).join(" | ");

export const GRAMMAR_SOURCE = String.raw`
PcapFilter {
  Prog = Expr?

  Expr = Expr "<AND>" Term   -- andTerm
       | Expr "<AND>" Id     -- andId
       | Expr "<OR>" Term    -- orTerm
       | Expr "<OR>" Id      -- orId
       | Term

  Id = Nid
     | "<LPAREN>" Pid "<RPAREN>"   -- paren
     | Pnum

  Nid = "<HID>" "<SLASH>" "<NUM>"     -- hidLen
      | "<HID>" "<NETMASK>" "<HID>"   -- hidMask
      | "<HID>"                        -- hid
      | "<HID6>" "<SLASH>" "<NUM>"    -- hid6Len
      | "<HID6>"                       -- hid6
      | "<ID>"                         -- name
      | "<EID>"                        -- eid
      | "<AID>"                        -- aid
      | "<BANG>" Id                    -- not

  Pid = Pid "<AND>" Id    -- and
      | Pid "<OR>" Id     -- or
      | Pnum "<AND>" Id   -- pnumAnd
      | Pnum "<OR>" Id    -- pnumOr
      | Nid

  Pnum = "<NUM>"                      -- num
       | "<LPAREN>" Pnum "<RPAREN>"   -- paren

  Term = "<BANG>" Term   -- not
       | Rterm

  Rterm = Head Id                          -- head
        | Arth Relop Arth                  -- rel
        | Other
        | "<LPAREN>" Expr "<RPAREN>"       -- paren
        | Pname                            -- pname

  Head = Pname? Dqual Aqual       -- dqualAqual
       | Pname? Dqual             -- dqual
       | Pname? Aqual             -- aqual
       | Pname? "<PROTO>"         -- proto
       | Pname? "<PROTOCHAIN>"    -- protochain
       | Pname? "<GATEWAY>"       -- gateway

  Pname = ${alts(PNAMES)}

  Dqual = "<SRC>" "<OR>" "<DST>"    -- srcOrDst
        | "<DST>" "<OR>" "<SRC>"    -- dstOrSrc
        | "<SRC>" "<AND>" "<DST>"   -- srcAndDst
        | "<DST>" "<AND>" "<SRC>"   -- dstAndSrc
        | ${alts(["SRC", "DST", "ADDR1", "ADDR2", "ADDR3", "ADDR4", "RA", "TA"])}

  Aqual = ${alts(["HOST", "NET", "PORT", "PORTRANGE"])}

  Arth = ArthOperand (Binop ArthOperand)*
  ArthOperand = "<MINUS>"* ArthPrimary
  ArthPrimary = Pname "<LBRACK>" Arth "<COLON>" "<NUM>" "<RBRACK>"   -- loadSized
              | Pname "<LBRACK>" Arth "<RBRACK>"                      -- load
              | "<LEN>"                                                -- len
              | Pnum                                                   -- pnum
              | "<LPAREN>" Arth "<RPAREN>"                            -- paren
  Binop = ${alts(["PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "AMP", "PIPE", "CARET", "LSH", "RSH"])}
  Relop = ${alts(["GT", "GEQ", "EQ", "LEQ", "LT", "NEQ"])}

  Other = Pname? "<BROADCAST>"                  -- broadcast
        | Pname? "<MULTICAST>"                  -- multicast
        | "<LESS>" "<NUM>"                      -- less
        | "<GREATER>" "<NUM>"                   -- greater
        | "<CBYTE>" "<NUM>" Byteop "<NUM>"      -- byte
        | "<INBOUND>"                           -- inbound
        | "<OUTBOUND>"                          -- outbound
        | "<IFINDEX>" "<NUM>"                   -- ifindex
        | "<VLAN>" Pnum                         -- vlanNum
        | "<VLAN>"                              -- vlan
        | "<MPLS>" Pnum                         -- mplsNum
        | "<MPLS>"                              -- mpls
        | "<PPPOED>"                            -- pppoed
        | "<PPPOES>" Pnum                       -- pppoesNum
        | "<PPPOES>"                            -- pppoes
        | "<GENEVE>" Pnum                       -- geneveNum
        | "<GENEVE>"                            -- geneve
        | Pfvar                                 -- pf
        | Pname? P80211                         -- p80211
        | "<LLC>" "<ID>"                        -- llcName
        | "<LLC>" "<PF_RNR>"                    -- llcRnr
        | "<LLC>"                               -- llc
        | (${alts(["LANE", "METAC", "BCC", "OAMF4EC", "OAMF4SC", "SC", "ILMIC"])})   -- atmType
        | (${alts(["OAM", "OAMF4", "CONNECTMSG", "METACONNECT"])})                 -- atmMultiType
        | ("<VPI>" | "<VCI>") FieldValue                                          -- atmField
        | (${alts(["FISU", "LSSU", "MSU", "HFISU", "HLSSU", "HMSU"])})              -- mtp2Type
        | (${alts(["SIO", "OPC", "DPC", "SLS", "HSIO", "HOPC", "HDPC", "HSLS"])}) FieldValue  -- mtp3Field

  Byteop = ${alts(["AMP", "PIPE", "LT", "GT", "EQ"])}

  Pfvar = ("<PF_IFNAME>" | "<PF_RSET>" | "<PF_ACTION>") "<ID>"
        | ("<PF_RNR>" | "<PF_SRNR>") "<NUM>"
        | "<PF_REASON>" ("<NUM>" | "<ID>")

  P80211 = "<TYPE>" TypeValue "<SUBTYPE>" TypeValue   -- typeSubtype
         | "<TYPE>" TypeValue                         -- type
         | "<SUBTYPE>" "<ID>"                         -- subtype
         | "<DIR>" TypeValue                          -- dir
  TypeValue = "<NUM>" | "<ID>"

  FieldValue = "<NUM>"                                         -- num
             | Relop "<NUM>"                                   -- rel
             | "<LPAREN>" "<NUM>" ("<OR>" "<NUM>")* "<RPAREN>"  -- list
}
`;

export const pcapFilterGrammar: ohm.Grammar = cachedGrammar("pcap-filter", GRAMMAR_SOURCE);
