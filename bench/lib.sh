# Shared by the bench scripts (sourced): messages, timing and process helpers.

# Progress and errors go to stderr, stamped; figures go to stdout.
say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# Shows the end of a log on stderr (for failures).
tail_log() { say "last lines of $1:"; tail -n "${2:-30}" "$1" | sed 's/^/    | /' >&2 || true; }

now() { date +%s.%N; }
# secs START END [DECIMALS]: the seconds between two `now`s (1 decimal unless told).
secs() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { printf "%." d "f", b - a }'; }
# ratio A B: A / B with 2 decimals, n/a unless both are positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Every process below PID, deepest first (to end what a bench started, however deep).
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done; }
