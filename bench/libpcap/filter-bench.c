/*
 * libpcap's own filter engine on a capture held in memory: the yardstick for kopi's interpreter and JIT.
 *
 *   filter-bench FILE.pcap RUNS EXPRESSION...
 *
 * Reads every packet of FILE into memory, then for each expression compiles it with pcap_compile (optimised,
 * netmask 0 as `tcpdump -r` does) on the capture's own handle and times pcap_offline_filter over all packets:
 * one warm-up pass, then RUNS timed passes. Prints one JSON object per expression and line:
 *   {"expression": "...", "packets": N, "matches": M, "nsPerPacket": median, "runsNs": [...]}
 * An expression libpcap refuses prints {"expression": "...", "error": "..."}.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct packet {
    struct pcap_pkthdr hdr;
    const u_char *data;
};

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* JSON string contents: escape quotes, backslashes and control characters. */
static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s FILE.pcap RUNS EXPRESSION...\n", argv[0]);
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    int runs = atoi(argv[2]);
    if (runs < 1) runs = 1;

    size_t cap = 1 << 20, n = 0;
    struct packet *pkts = malloc(cap * sizeof *pkts);
    struct pcap_pkthdr *h;
    const u_char *d;
    int r;
    while ((r = pcap_next_ex(p, &h, &d)) == 1) {
        if (n == cap) {
            cap *= 2;
            pkts = realloc(pkts, cap * sizeof *pkts);
        }
        u_char *copy = malloc(h->caplen ? h->caplen : 1);
        memcpy(copy, d, h->caplen);
        pkts[n].hdr = *h;
        pkts[n].data = copy;
        n++;
    }
    if (r == -1) {
        fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(p));
        return 1;
    }

    double *times = malloc(runs * sizeof *times);
    for (int e = 3; e < argc; e++) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, argv[e], 1, 0) != 0) {
            printf("{\"expression\": ");
            json_string(argv[e]);
            printf(", \"error\": ");
            json_string(pcap_geterr(p));
            printf("}\n");
            continue;
        }
        size_t matches = 0;
        for (size_t i = 0; i < n; i++) matches += pcap_offline_filter(&prog, &pkts[i].hdr, pkts[i].data) != 0;
        for (int k = 0; k < runs; k++) {
            size_t m = 0;
            double t0 = now_ns();
            for (size_t i = 0; i < n; i++) m += pcap_offline_filter(&prog, &pkts[i].hdr, pkts[i].data) != 0;
            times[k] = now_ns() - t0;
            if (m != matches) {
                fprintf(stderr, "libpcap gave %zu then %zu matches\n", matches, m);
                return 1;
            }
        }
        double sorted[runs];
        memcpy(sorted, times, runs * sizeof *times);
        qsort(sorted, runs, sizeof *sorted, cmp_double);
        printf("{\"expression\": ");
        json_string(argv[e]);
        printf(", \"packets\": %zu, \"matches\": %zu, \"instructions\": %u, \"nsPerPacket\": %.3f, \"runsNs\": [", n, matches, prog.bf_len, sorted[runs / 2] / (double)n);
        for (int k = 0; k < runs; k++) printf("%s%.0f", k ? ", " : "", times[k]);
        printf("]}\n");
        fflush(stdout);
        pcap_freecode(&prog);
    }
    pcap_close(p);
    return 0;
}
