#!/bin/sh
# The README's quick start says what each of its two commands installs: every Debian package
# of quickstart's lists for the demo and for the tests is named in it, and the demo's list
# holds none of the tests' (the first command installs only what the demo needs).
. "$(dirname "$0")/testlib.sh"
qs=$MPSL_SRCDIR/quickstart
readme=$MPSL_SRCDIR/README.md
bash -n "$qs" || fail "quickstart: syntax error"
list() { # NAME: the words of the bash array NAME=(...) in quickstart, comments dropped
  sed -n "/^$1=(/,/)/p" "$qs" | sed 's/#.*//; s/^[a-z_]*=(//; s/)//' | tr -s ' \t' '\n' | sed '/^$/d'
}
demo=$(list demo_pkgs) tests=$(list test_pkgs)
[ -n "$demo" ] && [ -n "$tests" ] || fail "quickstart has no demo_pkgs or test_pkgs list"
start=$(awk '/^## Quick start/ { on = 1 } on && /^The demo/ { exit } on' "$readme" | tr -s ' \n' '  ')
for p in $demo $tests; do
  case " $start " in *[\ \`]"$p"[\ \`]*) ;; *) fail "README's quick start does not name the package $p" ;; esac
done
for p in $tests; do
  for d in $demo; do [ "$p" != "$d" ] || fail "$p is in both the demo's and the tests' lists"; done
done
echo "quickstart: $(echo $demo | wc -w) packages for the demo, $(echo $tests | wc -w) more for the tests, all named in the README"
