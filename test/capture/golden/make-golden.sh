#!/bin/sh
# Regenerate the golden printer outputs with the real tcpdump (see README.md). Run from this folder.
set -eu
corpus=../../../../shared/corpus/pcaps
grep -v '^#' cases.tsv | while IFS='	' read -r name flags capture; do
  # shellcheck disable=SC2086 # flags are several words on purpose
  TZ=UTC tcpdump $flags -r "$corpus/$capture" > "$name.txt" 2>/dev/null
done
