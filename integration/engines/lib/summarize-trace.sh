#!/bin/bash
# summarize-trace.sh DIR: the distinct runtime command lines recorded in DIR/ENGINE.argv
# (ENGINES_TRACE_DIR=DIR run.sh), with ids, temp dirs and counters replaced by placeholders,
# each with the caller (parent process name) and how many times it was seen.
dir=${1:?usage: summarize-trace.sh DIR}
for f in "$dir"/*.argv; do
	e=$(basename "$f" .argv)
	echo "== $e"
	awk '/^[0-9]/ {line=$0; next} /^    env:/ {print line " || env:" substr($0, 9)}' "$f" |
		sed -E 's/^[0-9:.]+ ppid=[0-9]+\(([^)]*)\)/[\1]/;
			s/[0-9a-f]{64}/<ID>/g; s#/tmp/skiff-engines-[a-z]+\.[A-Za-z0-9]+#$T#g;
			s/skiff-eng-[a-z]+-[0-9]+/<NS>/g; s/runc-process[0-9]+/runc-process<N>/g;
			s/exec-process-[0-9]+/exec-process-<N>/g; s#/pty[0-9]+/#/pty<N>/#g;
			s/conmon-term\.[A-Za-z0-9]+/conmon-term.<X>/g; s#/e[0-9]+(-retry)?\.pid#/<EXECID>.pid#g;
			s#\b(echo1|env1|exit1|tty1|ro1|d1|k1|m1)\b#<CID>#g;
			s/GOMAXPROCS=[0-9]+/GOMAXPROCS=<nproc>/; s#DOCKER_[A-Z]+=[^ ]* ##g' |
		sort | uniq -c | sort -k2 | sed 's/ || env:/\n          env: /'
done
