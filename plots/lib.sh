# Helpers of the figure scripts (plots/fig*.sh), sourced by them. A sweep's results
# directory holds points.tsv (written by experiments/sweep: one row per point, the axis
# values as columns, `file` the results file of the point) and the results files.
#   points_with METRIC DIR   points.tsv of DIR with a last column `value`, for the points
#                            whose results exist (METRIC: see point_value)
#   aggregate                stdin "series<TAB>x<TAB>value" -> one gnuplot data block per
#                            series: a header line with the series name, then
#                            "x mean stddev n" sorted by x (stddev 0 when n = 1 or
#                            the runs are all equal)
#   render OUT BODY.gp [W H] runs BODY.gp (terminal and output left to us) into OUT.png
#                            and OUT.pdf, of fig_size W H (or W H) pixels
# What every figure keeps beside its PNG and PDF (docs/figures.md):
#   fig_scenario [TABLE]     the scenario of the points of TABLE (default $tmp/t, a
#                            points.tsv or points_with table): two lines in $tmp/scenario
#   fig_title TITLE          TITLE and the scenario lines under it, for a gnuplot title;
#                            fig_multiplot ROWS,COLS TITLE and fig_set_title TITLE print
#                            the gnuplot line that uses it
#   fig_data NAME COLUMN...  stdin (tab-separated rows) -> FIG_DIR/NAME.tsv under a header
#                            of the COLUMNs
#   blocks_tsv PANEL FILE    the blocks of `aggregate` in FILE as "PANEL series x mean sd n"
#   fig_caption NAME TITLE [NOTE...]  FIG_DIR/NAME.txt: the title, the scenario, the data
#                            file and the notes, a paragraph each
#   errbars FILE             "yes" when a block of FILE (made by aggregate) has a point of
#                            n >= 3 runs that differ: only then a figure draws error bars
# Size and fonts, from the environment: FIG_WIDTH, FIG_HEIGHT (pixels of the PNG; the PDF
# is a hundredth of them in inches; a script's own default is fig_size W H), FIG_FONT (a
# family, default "DejaVu Sans"), FIG_FONTSIZE (points in the PNG, default 11; the PDF
# one less), FIG_FORMATS (default "png pdf").
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
      n[key]++; s[key] += $3; v[key, n[key]] = $3 }
    END {
      for (i = 1; i <= ns; i++) {
        name = order[i]; m = split(substr(xs[name], 2), x, SUBSEP)
        for (a = 2; a <= m; a++) for (b = a; b > 1 && x[b - 1] + 0 > x[b] + 0; b--) { t = x[b]; x[b] = x[b - 1]; x[b - 1] = t }
        printf "\"%s\" mean sd n\n", name
        for (a = 1; a <= m; a++) {
          # the deviations from the mean; runs that are all equal have exactly 0
          key = name SUBSEP x[a]; mu = s[key] / n[key]; var = 0
          for (r = 1; r <= n[key]; r++) var += (v[key, r] - mu) ^ 2
          for (r = 2; r <= n[key] && v[key, r] == v[key, 1]; r++) ;
          var = (n[key] > 1 && r <= n[key]) ? var / (n[key] - 1) : 0
          printf "%s %.9g %.9g %d\n", x[a], mu, (var > 0 ? sqrt(var) : 0), n[key]
        }
        printf "\n\n"
      }
    }'
}

# fig_size W H: the figure's default size in pixels, unless FIG_WIDTH and FIG_HEIGHT say
# otherwise, into fig_w and fig_h (what fig_title wraps its scenario to and render draws).
fig_size() {
  fig_w=${FIG_WIDTH:-$1} fig_h=${FIG_HEIGHT:-$2}
}

render() { # OUT BODY.gp [WIDTH_PX HEIGHT_PX]
  w=${FIG_WIDTH:-${fig_w:-${3:-900}}} h=${FIG_HEIGHT:-${fig_h:-${4:-560}}}
  _font=${FIG_FONT:-DejaVu Sans} _fs=${FIG_FONTSIZE:-11}
  _made=
  for _fmt in ${FIG_FORMATS:-png pdf}; do
    case $_fmt in
      png) _term="pngcairo size $w,$h font \"$_font,$_fs\" enhanced" ;;
      pdf) _term="pdfcairo size $(awk -v p="$w" 'BEGIN { printf "%.2f", p / 100 }')in,$(awk -v p="$h" 'BEGIN { printf "%.2f", p / 100 }')in font \"$_font,$(awk -v s="$_fs" 'BEGIN { print s - 1 }')\" enhanced" ;;
      *) echo "render: FIG_FORMATS: unknown format '$_fmt' (png, pdf)" >&2; return 1 ;;
    esac
    gnuplot <<GP || return 1
set encoding utf8
set terminal $_term
set output "$1.$_fmt"
load "$2"
unset output
GP
    _made="$_made $1.$_fmt"
  done
  echo "wrote$_made"
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
# "model=csv:datasets/edgesys/vgg19.csv;cuts=plan:2,25") its file's name and "(authors'
# table)"; when the sweep has no model axis, the model of its results (fig_scenario).
model_label() {
  case $1 in
    "") if [ -s "$tmp/model" ]; then model_label "$(cat "$tmp/model")"; else echo "model"; fi ;;
    *csv:*) echo "$1" | sed 's/.*csv:\([^;]*\).*/\1/; s#.*/##; s/\.csv$//; s/$/ (authors'"'"' table)/' ;;
    *) echo "$1" ;;
  esac
}

# A font size for the body of a figure: N points at the default FIG_FONTSIZE of 11, scaled
# with it (set key font ",$(fs 9)").
fs() { awk -v s="${FIG_FONTSIZE:-11}" -v n="$1" 'BEGIN { printf "%.3g", n * s / 11 }'; }

# Text for gnuplot's enhanced mode: its markup characters taken literally.
gp_text() { printf '%s' "$1" | sed 's/[\\_^{}@&~]/\\\\&/g; s/"/\\"/g'; }

# fig_scenario [TABLE]: the scenario of the points of TABLE (default $tmp/t) in two lines of
# $tmp/scenario: mode, model, batch, B, r, K, H and the runs per point; the devices and
# links, and any other axis of the sweep (e.g. "partition iid | dirichlet"). A key that is an axis of the sweep lists its values; the others come from the
# configuration of the first finished results file (an .h5: `mpsl report` prints it).
fig_scenario() {
  _tab=${1:-$tmp/t}
  _cfg=
  # the configuration of an emulated point first: it holds the emulation's compute and time scale
  for _f in $(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "file") c = i; if ($i == "mode") m = i }; next }
      c { print (m && $m == "emulate" ? 0 : 1) "\t" $c }' "$_tab" | sort -s -t'	' -k1,1n | cut -f 2); do
    case $_f in *.h5) [ -s "$dir/$_f" ] && _cfg=$("$MPSL" report "$dir/$_f" 2>/dev/null | sed -n 's/^config: //p' | head -n 1) && [ -n "$_cfg" ] && break ;; esac
  done
  printf '%s\n' "$_cfg" | awk -F'\t' -v tab="$_tab" -v mf="$tmp/model" '
    # a config line: key=value or key="value" pairs
    NR == 1 { s = $0
      while (match(s, /[a-z_]+=("[^"]*"|[^ ]*)/)) { kv = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
        k = kv; sub(/=.*/, "", k); v = substr(kv, length(k) + 2); gsub(/"/, "", v); cfg[k] = v } }
    END {
      # the axes: columns between seed and file; a value KEY=V;KEY=V sets several keys
      while ((getline line < tab) > 0) {
        nf = split(line, f, "\t")
        if (++row == 1) { for (i = 1; i <= nf; i++) { col[i] = f[i]; if (f[i] == "mode") cm = i; if (f[i] == "rep") cr = i; if (f[i] == "seed") cs = i; if (f[i] == "file") cf = i }; continue }
        if (cm) add("mode", f[cm]); if (cr && f[cr] + 0 > reps) reps = f[cr] + 0
        for (i = cs + 1; i < cf; i++) {
          if (f[i] ~ /=/) { m = split(f[i], kvs, ";"); for (j = 1; j <= m; j++) { k = kvs[j]; sub(/=.*/, "", k); add(k, substr(kvs[j], length(k) + 2)) } }
          else add(col[i], f[i])
        }
      }
      if (reps == 0) reps = 1
      l1 = val("mode") "; " model(val("model")) (val("width") != "" && val("width") != "1" ? " at width " val("width") : "")
      if (val("mode") ~ /emulate/ && val("compute") != "") l1 = l1 ", compute " val("compute")
      if ("cuts" in ax) l1 = l1 ", cuts " val("cuts")
      l1 = l1 "; batch " val("batch") ", B = " val("batches") ", r = " val("local_epochs") "; K = " nums(val("clients")) ", H = " nums(val("hops"))
      if (val("pipelines") != "" && val("pipelines") != "1") l1 = l1 ", R = " nums(val("pipelines"))
      det = (val("jitter") == "" || val("jitter") == "0") && val("mode") !~ /emulate|reference/
      l1 = l1 "; " (reps > 2 ? reps " seeds per point (error bars: one standard deviation)" : reps > 1 ? reps " seeds per point (their mean; no error bars under 3)" : (det ? "one run per point (deterministic)" : "one run per point"))
      l2 = "data owners on " val("do_devices") ", compute nodes on " val("cn_devices") ", aggregator on " val("agg_device")
      l2 = l2 "; links: data owner-compute node " link("do_cn") ", between compute nodes " link("cn_cn") ", data owner-aggregator " link("do_agg")
      if (val("jitter") != "" && val("jitter") != "0") l2 = l2 "; jitter " 100 * val("jitter") " %"
      if (val("mode") ~ /emulate/ && val("time_scale") != "") l2 = l2 "; emulated at time_scale " val("time_scale")
      # any other axis of the sweep, by its key
      split("mode model width compute cuts batch batches local_epochs clients hops pipelines jitter do_devices cn_devices agg_device do_cn_bw do_cn_lat cn_cn_bw cn_cn_lat do_agg_bw do_agg_lat time_scale", kn, " ")
      for (i in kn) known[kn[i]] = 1
      for (k in ax) if (!(k in known)) l2 = l2 "; " k " " ax[k]
      print l1; print l2
      print cfg["model"] > mf
    }
    function add(k, v,   o) { if ((k, v) in seen) return; seen[k, v] = 1; o = (k in ax) ? ax[k] " | " : ""; ax[k] = o v }
    function val(k) { return (k in ax) ? ax[k] : cfg[k] }
    # "8Mbit" -> "8 Mbit/s", and the latency when there is one
    function link(p,   b, l, u, n, q, i, o) { b = val(p "_bw"); l = val(p "_lat"); n = split(b, q, " \\| "); o = ""
      for (i = 1; i <= n; i++) { b = q[i]
        if (b == "inf" || b == "") b = "unlimited"
        else if (b ~ /^[0-9.]+[kMGT]?bit$/) { u = b; sub(/^[0-9.]+/, "", u); b = substr(b, 1, length(b) - length(u)) " " u "/s" }
        o = o (i > 1 ? " | " : "") b }
      return o (l != "" && l != "0" ? " + " l " s" : "") }
    # "csv:datasets/edgesys/vgg19.csv" -> "vgg19 (authors'"'"' table)"
    function model(v,   n, i, p, o, t) { n = split(v, p, " \\| "); o = ""
      for (i = 1; i <= n; i++) { t = p[i]; if (t ~ /^csv:/) { sub(/.*\//, "", t); sub(/\.csv$/, "", t); t = t " (authors'"'"' table)" } o = o (i > 1 ? ", " : "") t }
      return o }
    # "1 | 2 | 3 | 5" -> "1-3, 5"; other lists as "a, b"
    function nums(v,   n, i, p, o, a, b) { n = split(v, p, " \\| ")
      for (i = 1; i <= n; i++) if (p[i] !~ /^[0-9]+$/) { gsub(/ \| /, ", ", v); return v }
      for (a = 2; a <= n; a++) for (b = a; b > 1 && p[b - 1] + 0 > p[b] + 0; b--) { t = p[b]; p[b] = p[b - 1]; p[b - 1] = t }
      o = ""; i = 1
      while (i <= n) { j = i; while (j < n && p[j + 1] == p[j] + 1) j++
        o = o (o != "" ? ", " : "") (j - i >= 2 ? p[i] "-" p[j] : (j > i ? p[i] ", " p[j] : p[i])); i = j + 1 }
      return o }' >"$tmp/scenario"
}

# fig_title TITLE: TITLE and the scenario lines below it in a smaller font, escaped for a
# double-quoted gnuplot string of enhanced text (print it with printf '%s', not echo: it
# holds backslashes).
fig_title() {
  printf '%s' "$(gp_text "$1")"
  [ -s "$tmp/scenario" ] || return 0
  # lines of the scenario wrapped at "; " to the width of the figure (about 6.4 pixels a
  # character at 0.8 of 11 points)
  awk -v w="${fig_w:-${FIG_WIDTH:-900}}" -v fs="${FIG_FONTSIZE:-11}" 'BEGIN { max = int((w - 40) / (6.4 * fs / 11)) }
    { n = split($0, it, "; "); l = ""
      for (i = 1; i <= n; i++) { t = it[i] (i < n ? ";" : "")
        if (l != "" && length(l) + 1 + length(t) > max) { print l; l = t } else l = (l == "" ? t : l " " t) }
      if (l != "") print l }' "$tmp/scenario" | while IFS= read -r _l; do printf '\\n{/*0.8 %s}' "$(gp_text "$_l")"; done
}

# fig_multiplot ROWS,COLS TITLE: the gnuplot line that starts a figure of panels under
# fig_title TITLE; fig_set_title TITLE: the line that titles a figure of one panel so.
fig_multiplot() { printf 'set multiplot layout %s title "%s"\n' "$1" "$(fig_title "$2")"; }
fig_set_title() { printf 'set title "%s"\n' "$(fig_title "$1")"; }

# fig_data NAME COLUMN...: the rows on stdin (tab-separated) into $figdir/NAME.tsv, under a
# header line of the COLUMNs: the numbers the figure plots, beside it.
fig_data() {
  _n=$1
  shift
  { (IFS='	'; printf '%s\n' "$*"); cat; } >"$figdir/$_n.tsv.tmp" && mv "$figdir/$_n.tsv.tmp" "$figdir/$_n.tsv"
}

# blocks_tsv PANEL FILE: the blocks of aggregate in FILE as "PANEL series x mean sd n" rows.
blocks_tsv() {
  awk -v p="$1" '/^"/ { s = $0; sub(/^"/, "", s); sub(/" .*$/, "", s); next } NF == 4 { printf "%s\t%s\t%s\t%s\t%s\t%s\n", p, s, $1, $2, $3, $4 }' "$2"
}

# errbars FILE: "yes" when a point of FILE (blocks of aggregate) is the mean of three runs
# or more that differ (sd > 0), else "no": with fewer runs per point (two give no spread
# worth the name), or runs that repeat themselves, a figure draws lines and points, not
# error bars.
errbars() { awk 'NF == 4 && !/^"/ && $4 >= 3 && $3 > 0 { y = 1 } END { print y ? "yes" : "no" }' "$@"; }

# fig_caption NAME TITLE [NOTE...]: $figdir/NAME.txt, the caption of the figure: its title,
# the scenario ($tmp/scenario), the data file beside it, then each NOTE, a paragraph each.
fig_caption() {
  _n=$1 _t=$2
  shift 2
  {
    printf '%s\n\n' "$_t"
    [ -s "$tmp/scenario" ] && { printf 'Scenario: '; sed 's/$/;/' "$tmp/scenario" | tr '\n' ' ' | sed 's/; $/./'; printf '\n\n'; }
    [ -s "$figdir/$_n.tsv" ] && printf 'Data: %s.tsv (columns: %s).\n' "$_n" "$(head -n 1 "$figdir/$_n.tsv" | sed 's/\t/, /g')"
    for _note in "$@"; do printf '\n%s\n' "$_note"; done
  } >"$figdir/$_n.txt"
}

# series_plot FILE [DIVISOR [STYLE]]: a plot clause for every block of FILE (made by
# aggregate; titles from the blocks' headers), y = mean / DIVISOR: with error bars of one
# standard deviation when errbars says so, else lines and points, so that a legend shows
# error-bar glyphs only where there are error bars.
series_plot() {
  # every series its own point type (filled and open in turn, open ones larger) and dash
  # type, so that series that coincide still show
  _d=${2:-1} _st='lw 2 pt int(word("7 6 5 4 9 8 13 12", b % 8 + 1)) ps 1 + 0.5 * (b % 2) dt b % 4 + 1'
  [ -z "${3:-}" ] || _st=$3
  if [ "$(errbars "$1")" = yes ]; then
    printf 'for [b=0:%d] "%s" index b using 1:($2/%s):($3/%s) with yerrorlines %s title columnheader(1)' $(($(blocks "$1") - 1)) "$1" "$_d" "$_d" "$_st"
  else
    printf 'for [b=0:%d] "%s" index b using 1:($2/%s) with linespoints %s title columnheader(1)' $(($(blocks "$1") - 1)) "$1" "$_d" "$_st"
  fi
}
