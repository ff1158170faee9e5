# Helpers of the figure scripts (plots/fig*.sh), sourced by them. A sweep's results
# directory holds points.tsv (written by experiments/sweep: one row per point, the axis
# values as columns, `file` the results file of the point) and the results files.
#   points_with METRIC DIR   points.tsv of DIR with a last column `value`, for the points
#                            whose results exist (METRIC: see point_value)
#   aggregate                stdin "series<TAB>x<TAB>value" -> one gnuplot data block per
#                            series: a header line with the series name, then
#                            "x mean stddev n" sorted by x (stddev 0 when n = 1)
#   render OUT BODY.gp [W H] runs BODY.gp (terminal and output left to us) into OUT.png
#                            and OUT.pdf
: "${MPSL:=mpsl}"

# One number for a results file: round_time (seconds of a round in model time, the mean
# of the time_s column over the rounds after the first when there are several, since the
# first also builds the kernels; the estimate's T_round for a .csv of mpsl estimate),
# cn_accounted / cn_peak_rss / cn_cap (bytes, the largest over the compute nodes in the
# last round), final_acc (test accuracy of the last round).
point_value() { # FILE METRIC
  case $1 in
    *.csv)
      awk -F, -v m="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        m == "round_time" && ("T_round" in c) { v = $c["T_round"] }
        m == "final_acc" && ("test_acc" in c) { v = $c["test_acc"] }
        END { if (v != "") print v }' "$1" ;;
    *)
      case $2 in
        round_time)
          "$MPSL" report --csv rounds "$1" 2>/dev/null | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            { t[++n] = $c["time_s"] } END { if (n == 1) print t[1]; else if (n > 1) { s = 0; for (i = 2; i <= n; i++) s += t[i]; print s / (n - 1) } }' ;;
        final_acc)
          "$MPSL" report --csv rounds "$1" 2>/dev/null | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { v = $c["test_acc"] } END { if (v != "") print v }' ;;
        cn_accounted | cn_peak_rss | cn_cap)
          "$MPSL" report --csv memory "$1" 2>/dev/null | awk -F, -v col="${2#cn_}" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            $c["role"] == 1 { if ($c["round"] != r) { r = $c["round"]; best = "" } if (best == "" || $c[col] + 0 > best + 0) best = $c[col] }
            END { if (best != "") print best }' ;;
        *) echo "point_value: unknown metric $2" >&2; return 1 ;;
      esac ;;
  esac
}

points_with() { # METRIC DIR
  [ -f "$2/points.tsv" ] || { echo "$(basename "$0"): $2/points.tsv not found: run the sweep first" >&2; return 1; }
  head -n 1 "$2/points.tsv" | sed 's/$/\tvalue/'
  tail -n +2 "$2/points.tsv" | while IFS= read -r row; do
    f=$2/${row##*	}
    [ -s "$f" ] || continue
    case $f in *.h5) h5dump -a status "$f" 2>/dev/null | grep -q '"finished"' || continue ;; esac
    v=$(point_value "$f" "$1") || continue
    [ -n "$v" ] && printf '%s\t%s\n' "$row" "$v"
  done
}

aggregate() {
  awk -F'\t' '
    { key = $1 SUBSEP $2
      if (!($1 in seen)) { seen[$1] = 1; order[++ns] = $1 }
      if (!(key in n)) xs[$1] = xs[$1] SUBSEP $2
      n[key]++; s[key] += $3; q[key] += $3 * $3 }
    END {
      for (i = 1; i <= ns; i++) {
        name = order[i]; m = split(substr(xs[name], 2), x, SUBSEP)
        for (a = 2; a <= m; a++) for (b = a; b > 1 && x[b - 1] + 0 > x[b] + 0; b--) { t = x[b]; x[b] = x[b - 1]; x[b - 1] = t }
        printf "\"%s\" mean sd n\n", name
        for (a = 1; a <= m; a++) {
          key = name SUBSEP x[a]; mu = s[key] / n[key]
          var = n[key] > 1 ? (q[key] - n[key] * mu * mu) / (n[key] - 1) : 0
          printf "%s %.9g %.9g %d\n", x[a], mu, (var > 0 ? sqrt(var) : 0), n[key]
        }
        printf "\n\n"
      }
    }'
}

render() { # OUT BODY.gp [WIDTH_PX HEIGHT_PX]
  w=${3:-900} h=${4:-560}
  gnuplot <<GP || return 1
set terminal pngcairo size $w,$h font "DejaVu Sans,11" enhanced
set output "$1.png"
load "$2"
unset output
set terminal pdfcairo size $(awk -v p="$w" 'BEGIN { printf "%.2f", p / 100 }')in,$(awk -v p="$h" 'BEGIN { printf "%.2f", p / 100 }')in font "DejaVu Sans,10" enhanced
set output "$1.pdf"
load "$2"
unset output
GP
  echo "wrote $1.png $1.pdf"
}

# Number of data blocks in a file made by aggregate.
blocks() { grep -c '^"' "$1"; }

# "DIVISOR UNIT" for times in seconds: the unit that keeps the largest mean (column 2 of
# the data files) readable.
time_unit() {
  cat "$@" | awk '!/^"/ && NF >= 2 && $2 + 0 > m { m = $2 + 0 }
    END { if (m >= 7200) print 3600, "h"; else if (m >= 180) print 60, "min"; else if (m >= 1) print 1, "s"; else print 0.001, "ms" }'
}

# Columns of points.tsv by name: `cols FILE NAME...` exits 1 naming the first missing one.
need_cols() {
  f=$1
  shift
  for c in "$@"; do
    head -n 1 "$f" | tr '\t' '\n' | grep -qx "$c" || { echo "$(basename "$0"): the sweep has no '$c' axis (points.tsv columns: $(head -n 1 "$f" | tr '\t' ' '))" >&2; return 1; }
  done
}

# The start of a figure script: its arguments RESULTS_DIR FIG_DIR, and a temporary
# directory removed on exit.
fig_begin() {
  dir=$1 figdir=$2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
}

# fig_points METRIC FIG COLUMN...: the finished points of $dir with METRIC into $tmp/t;
# stops with one line when a column is missing or no point has finished.
fig_points() {
  _m=$1 _f=$2
  shift 2
  points_with "$_m" "$dir" >"$tmp/t"
  need_cols "$tmp/t" "$@"
  [ "$(wc -l <"$tmp/t")" -gt 1 ] || { echo "$_f: no finished points in $dir" >&2; exit 1; }
}

# fig_panels [mode]: one panel per model of $tmp/t (the base's model, "", when model is
# not an axis), and per mode too when asked, as "model" or "model|mode" lines in
# $tmp/panels; n is their count.
fig_panels() {
  awk -F'\t' -v by_mode="${1:-}" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print (("model" in c) ? $c["model"] : "") (by_mode != "" ? "|" $c["mode"] : "") }' "$tmp/t" | sort -u >"$tmp/panels"
  n=$(wc -l <"$tmp/panels")
}

# A panel's name for a model axis value: "vgg19", or for a layer table (a value such as
# "model=csv:datasets/edgesys/vgg19.csv;cuts=plan:2,25") its file's name and "(table)";
# the base's model when the sweep has no model axis.
model_label() {
  case $1 in
    "") echo "the base's model" ;;
    *csv:*) echo "$1" | sed 's/.*csv:\([^;]*\).*/\1/; s#.*/##; s/\.csv$//; s/$/ (authors'"'"' table)/' ;;
    *) echo "$1" ;;
  esac
}
