#include <pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/*
 * Test harness for test/pcap-filter/libpcap-differential.test.ts: libpcap 1.10.3 itself as the reference.
 * usage: libpcap-harness FILE... < expressions (one per line)
 * For each expression, one line: "E <libpcap's error>" or "M " followed, for each FILE, by the 1-based numbers
 * of the packets pcap_offline_filter() keeps ("3,7,") and ";". Each file is opened as tcpdump -r opens it, and
 * the filter compiled with optimisation and netmask 0, as tcpdump -r compiles it.
 */
int main(int argc, char **argv) {
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char err[PCAP_ERRBUF_SIZE];
    int first = 1;
    for (int f = 1; f < argc; f++) {
      pcap_t *p = pcap_open_offline(argv[f], err);
      if (!p) { printf("OPENFAIL %s\n", argv[f]); return 1; }
      struct bpf_program prog;
      if (pcap_compile(p, &prog, line, 1, 0) < 0) { if (first) printf("E %s\n", pcap_geterr(p)); pcap_close(p); first = 0; goto next; }
      if (first) printf("M ");
      first = 0;
      struct pcap_pkthdr *h; const u_char *d; int i = 0, r;
      while ((r = pcap_next_ex(p, &h, &d)) == 1) { i++; if (pcap_offline_filter(&prog, h, d)) printf("%d,", i); }
      printf(";");
      pcap_freecode(&prog);
      pcap_close(p);
    }
    printf("\n");
    next:;
    fflush(stdout);
  }
  return 0;
}
