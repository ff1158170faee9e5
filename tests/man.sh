#!/bin/sh
# The man page mpsl.1 that the build wrote is what `mpsl help --man` prints, roff that man
# and groff render without a warning, and it lists every key of every command with the type,
# default, range and help line of `mpsl COMMAND --help`, every flag outside the tables
# (--ranks, --csv, --max-hops, ...), and every key the shipped device catalogue uses.
. "$(dirname "$0")/testlib.sh"
page=$MPSL_BUILDDIR/mpsl.1
[ -s "$page" ] || fail "the build wrote no $page"
# the page of this binary (the date line aside: the build may have run on another day)
"$mpsl" help --man >"$tmp/now.1" || fail "mpsl help --man failed"
grep -v '^\.TH ' "$page" >"$tmp/a" && grep -v '^\.TH ' "$tmp/now.1" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "$page differs from mpsl help --man: $(diff "$tmp/a" "$tmp/b" | head -5)"
grep -q '^\.TH MPSL 1 ' "$page" || fail "$page has no .TH MPSL 1 line"

# The renderers, where this machine has them (neither is a dependency of mpsl).
if command -v groff >/dev/null 2>&1; then
  groff -man -Tutf8 -ww -z "$page" 2>"$tmp/groff" || fail "groff failed on $page"
  [ ! -s "$tmp/groff" ] || fail "groff warns about $page: $(head -3 "$tmp/groff")"
else
  echo "note: no groff here; the page is not rendered"
fi
if command -v man >/dev/null 2>&1; then
  MANWIDTH=100 man -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err" || fail "man -l $page failed: $(cat "$tmp/man.err")"
  [ ! -s "$tmp/man.err" ] || fail "man -l $page warns: $(head -3 "$tmp/man.err")"
  grep -q '^COMMANDS' "$tmp/man.txt" || fail "man -l $page shows no COMMANDS section"
fi

# Every entry of the tables as --help prints it: "COMMAND<TAB>KEY<TAB>FACTS<TAB>HELP" (FACTS:
# "default ..., range ..."; empty for flags outside the tables).
"$mpsl" --help | awk '/^commands:/ { on = 1; next } on && NF { print $1 }' >"$tmp/commands"
[ "$(wc -l <"$tmp/commands")" -ge 9 ] || fail "mpsl --help lists $(wc -l <"$tmp/commands") commands"
while read -r c; do
  "$mpsl" "$c" --help >"$tmp/help" || fail "mpsl $c --help failed"
  awk -v c="$c" '
    function key(s) { sub(/^ *--/, "", s); sub(/[ ,].*/, "", s); return s }
    { line[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++) {
        l = line[i]
        if (l !~ /^  --/ || l ~ /^  --(set|config) /) continue
        if (line[i + 1] ~ /^      [^ ]/) {
          p = match(l, / (default|required)/)
          facts = substr(l, p + 1); h = line[i + 1]; sub(/^ +/, "", h)
          printf "%s\t%s\t%s\t%s\n", c, key(l), facts, h
        } else {
          f = l; sub(/^  /, "", f); h = f; sub(/  +.*/, "", f); sub(/^[^ ]+( [A-Z]+)? +/, "", h)
          printf "%s\t%s\t\t%s\n", c, key(f), h
        }
      }
    }' "$tmp/help"
done <"$tmp/commands" | sort >"$tmp/from-help"
[ "$(wc -l <"$tmp/from-help")" -ge 100 ] || fail "read only $(wc -l <"$tmp/from-help") keys from --help"

# The same entries from the page: .SS "mpsl CMD", then .TP, the tag, the facts, .br, the help;
# a command that takes the keys of another says so and gets that command's entries.
sed 's/\\-/-/g; s/\\[&:%]//g; s/\\(dq/"/g; s/\\e/\\/g' "$page" | awk '
  function flush() { if (tag != "") { printf "%s\t%s\t%s\t%s\n", cmd, tag, facts, h; n[cmd]++ } tag = "" }
  /^\.S[SH] / { flush(); cmd = ""; stage = 0 }
  /^\.SS "mpsl / { cmd = $3; sub(/"$/, "", cmd); next }
  cmd == "" { next }
  /^It takes every key of/ { getline; s = $3; gsub(/"/, "", s); shares[cmd] = s; next }
  /^\.TP/ { flush(); stage = 1; next }
  stage == 1 {
    t = $0; sub(/^\.B[IR]? "--/, "", t); sub(/".*/, "", t); sub(/ .*/, "", t); tag = t
    facts = ""; h = ""; stage = 2; next
  }
  stage == 2 && /^\.br/ { stage = 3; next }
  stage == 2 { if (facts == "" && ($0 ~ /^(default|required)/)) { facts = $0; sub(/\.$/, "", facts) } else h = $0; next }
  stage == 3 { h = $0; stage = 4; next }
  END {
    flush()
    for (c in shares) print "SHARES\t" c "\t" shares[c]
  }' >"$tmp/man-raw"
awk -F'\t' '
  $1 == "SHARES" { share[$2] = $3; next } { row[++n] = $0; cmd[n] = $1 }
  END {
    for (i = 1; i <= n; i++) print row[i]
    for (c in share) for (i = 1; i <= n; i++) if (cmd[i] == share[c] && row[i] !~ /\t\t/) { r = row[i]; sub(/^[^\t]*/, c, r); print r }
  }' "$tmp/man-raw" | sort >"$tmp/from-man"
if ! cmp -s "$tmp/from-help" "$tmp/from-man"; then
  diff "$tmp/from-help" "$tmp/from-man" | head -10
  fail "the keys of the page differ from --help (< --help, > mpsl.1)"
fi

# Every key the shipped device catalogue uses, in the page's DEVICE CATALOGUE section.
sed -n '/^\.SH DEVICE CATALOGUE/,/^\.SH FILES/p' "$page" | sed 's/\\-/-/g' >"$tmp/devices.1"
sed -n 's/^\([a-z_]*\) *=.*/\1/p' "$MPSL_SRCDIR/experiments/devices.ini" | grep -v '^ref_step_' | sort -u >"$tmp/keys"
[ -s "$tmp/keys" ] || fail "read no keys from experiments/devices.ini"
while read -r k; do
  grep -q "^\.BI \"$k = " "$tmp/devices.1" || fail "device key $k of experiments/devices.ini is not in the page"
done <"$tmp/keys"
echo "mpsl.1: $(wc -l <"$tmp/from-help") entries of $(wc -l <"$tmp/commands") commands, $(wc -l <"$tmp/keys") device keys"
