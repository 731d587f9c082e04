#!/usr/bin/env bash
# Seeds fuzz/corpus/watch_line (and watch_frame, from the .bin bodies) from the captured API transcripts: every watch line on its own,
# each whole watch stream, and each JSON response body (list pages, Status errors). A seed's
# first byte is the chunk size the target feeds the splitter with.
# Usage, from the repository root: fuzz/seed-corpus.sh [TRANSCRIPT_DIR] (default tests/fixtures)
set -euo pipefail
transcripts=${1:-tests/fixtures}
out=fuzz/corpus/watch_line
mkdir -p "$out"
n=0
for file in "$transcripts"/*.txt; do
  # The body: what follows the first blank line after the (non-comment) headers.
  body=$(grep -v '^#' "$file" | sed '/./,$!d' | sed '1,/^$/d')
  if grep -qE '^\+[0-9.]+s ' <<<"$body"; then
    lines=$(sed -nE 's/^\+[0-9.]+s //p' <<<"$body")
    while IFS= read -r line; do
      printf '\x07%s\n' "$line" >"$out/$(basename "$file" .txt)-line-$((n++))"
    done <<<"$lines"
    printf '\x3d%s\n' "$lines" >"$out/$(basename "$file" .txt)-stream"
  elif [[ $body == \{* ]]; then
    printf '\xff%s' "$body" >"$out/$(basename "$file" .txt)-body"
  fi
done
ls "$out" | wc -l | xargs echo "seeds in $out:"
# watch_frame: the protobuf list and watch bodies, whole, in 1-, 7- and 255-byte chunks.
frames=fuzz/corpus/watch_frame
mkdir -p "$frames"
for file in "$transcripts"/*.bin; do
  for size in 01 07 ff; do
    { printf "\\x$size"; cat "$file"; } >"$frames/$(basename "$file" .bin)-$size"
  done
done
ls "$frames" | wc -l | xargs echo "seeds in $frames:"
