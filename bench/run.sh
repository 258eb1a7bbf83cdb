#!/bin/sh
# bench/run.sh — what `make bench` runs (from the repository root, after
# `make all`): aurl against a fair PyTorch peer on bench/reference.yaml, the
# machine's sgemm peak measured in the same run, the T-scaling table of full
# vs sliding-window attention, the attention-kernel, data-pipeline and
# model-mode benchmarks, then a summary table with the targets (met / not met).
#
# The peer comparison runs every side twice. aurl: as a user gets it ("auto":
# OPENBLAS_CORETYPE unset, aurl picks the kernel itself) and with the variable
# set by hand to the core aurl chose. PyTorch (Debian's, linked to the same
# OpenBLAS): as shipped (variable unset: the library's own, possibly generic,
# kernel) and tuned (the variable set to that same core). A value of
# OPENBLAS_CORETYPE in the caller's environment is not used (the script sets
# it per run); TUNED_CORE=NAME overrides the core of the by-hand runs.
#
# Environment: STEPS (aurl steps, default 20), TORCH_STEPS (default 10),
# SCALING_STEPS (default 2), GEN_TOKENS (tokens per sampling run, default 1024),
# GEN_BATCH (the batched sampling run, default 16), GEN_BATCH_TOKENS (tokens
# per sequence of PyTorch's batched run, default 640: past the 512-token
# context, so the window slides, but shorter: it is slow), PEAK_REPEATS (sgemm timings
# per size, default 5), TORCH_NOCACHE=1 (also time PyTorch's uncached
# generate, slow), BUSY=N (run N `yes > /dev/null` competitors during all
# measurements, default 0: `make bench` then `BUSY=1 make bench` gives the
# table alone and with one core taken), PYTHON (default /usr/bin/python3),
# BUILD (default build). A quick end-to-end check: STEPS=1 TORCH_STEPS=1
# SCALING_STEPS=1 GEN_TOKENS=64 PEAK_REPEATS=1.
set -u
AURL=./aurl
CONFIG=bench/reference.yaml
STEPS=${STEPS:-20}
TORCH_STEPS=${TORCH_STEPS:-10}
SCALING_STEPS=${SCALING_STEPS:-2}
GEN_TOKENS=${GEN_TOKENS:-1024}
GEN_BATCH=${GEN_BATCH:-16}
GEN_BATCH_TOKENS=${GEN_BATCH_TOKENS:-640}
PEAK_REPEATS=${PEAK_REPEATS:-5}
TORCH_NOCACHE=${TORCH_NOCACHE:-0}
BUSY=${BUSY:-0}
PY=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build}

if [ ! -x "$AURL" ]; then
    echo "bench: $AURL not found; run 'make all' first" >&2
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aurl-bench.XXXXXX") || exit 1
hogs=""
cleanup() {
    for p in $hogs; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # stop (the EXIT trap cleans up), rather than run on

# json_num FILE KEY: a numeric field of the last line's JSON object.
json_num() {
    tail -n 1 "$1" | sed -n "s/.*\"$2\":[ ]*\([-0-9.eE+]*\).*/\1/p"
}
# json_str FILE KEY: a string field of the last line's JSON object.
json_str() {
    tail -n 1 "$1" | sed -n "s/.*\"$2\":[ ]*\"\([^\"]*\)\".*/\1/p"
}
# text FILE: the human-readable lines of a tool's output (not its JSON).
text() {
    grep -v '^{' "$1"
}
# fmt VALUE DECIMALS: VALUE rounded, or "-" when it is empty.
fmt() {
    if [ -n "$1" ]; then printf "%.${2}f" "$1"; else printf -- "-"; fi
}
# ratio A B: "A/B x" to two decimals, or "-" when either is missing or B is 0.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2fx\n", a / b }'
}
# target LABEL VALUE GOAL: "LABEL: VALUE (target >= GOAL): met / NOT met / not measured".
target() {
    awk -v l="$1" -v v="$2" -v g="$3" 'BEGIN {
        if (v == "") { printf "  %-58s not measured\n", l ": -"; exit }
        printf "  %-58s %s\n", sprintf("%s: %.2f (target >= %s)", l, v, g), (v + 0 >= g + 0 ? "met" : "NOT met") }'
}
# shipped CMD...: run CMD with OPENBLAS_CORETYPE unset; tuned CMD...: set to $CORE.
shipped() { env -u OPENBLAS_CORETYPE "$@"; }
tuned() { env OPENBLAS_CORETYPE="$CORE" "$@"; }

if [ -n "${OPENBLAS_CORETYPE+set}" ]; then
    echo "bench: ignoring OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE from the environment (each run sets its own; TUNED_CORE picks the by-hand core)"
    unset OPENBLAS_CORETYPE
fi
have_torch=0
"$PY" -c 'import torch' 2>/dev/null && have_torch=1

cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)
echo "== machine: ${cpu:-unknown CPU}, $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
case "$BUSY" in '' | *[!0-9]*) BUSY=0 ;; esac
if [ "$BUSY" -gt 0 ]; then
    for _ in $(seq "$BUSY"); do
        yes >/dev/null &
        hogs="$hogs $!"
    done
    mode="with $BUSY core(s) taken by yes"
    echo "== BUSY=$BUSY: $BUSY 'yes > /dev/null' competitor(s) run during all measurements"
else
    mode="alone"
fi

# ---- training: aurl auto, then the core it chose ---------------------------
echo
echo "== training, aurl as a user gets it (OPENBLAS_CORETYPE unset): $CONFIG, $STEPS steps"
if ! shipped "$AURL" bench --config "$CONFIG" --steps "$STEPS" --json >"$tmp/aurl.out"; then
    cat "$tmp/aurl.out"
    echo "bench: aurl bench failed" >&2
    exit 1
fi
text "$tmp/aurl.out"
a_tps=$(json_num "$tmp/aurl.out" tokens_per_s)
a_gf=$(json_num "$tmp/aurl.out" gflops)
a_rss=$(json_num "$tmp/aurl.out" peak_rss_mb)
a_core=$(json_str "$tmp/aurl.out" blas_core)
a_src=$(json_str "$tmp/aurl.out" blas_core_source)
CORE=${TUNED_CORE:-$a_core}
if [ -z "$CORE" ]; then
    echo "bench: aurl bench --json names no blas_core; cannot set the kernel by hand" >&2
    exit 1
fi
[ "$a_src" = library ] &&
    echo "(the library picks $a_core by itself here: as-shipped and tuned runs use the same kernel)"

echo
echo "== training, aurl with OPENBLAS_CORETYPE=$CORE set by hand"
h_tps="" h_gf="" h_core=""
if tuned "$AURL" bench --config "$CONFIG" --steps "$STEPS" --sample 0 --json >"$tmp/hand.out"; then
    text "$tmp/hand.out"
    h_tps=$(json_num "$tmp/hand.out" tokens_per_s)
    h_gf=$(json_num "$tmp/hand.out" gflops)
    h_core=$(json_str "$tmp/hand.out" blas_core)
else
    echo "bench: aurl bench with OPENBLAS_CORETYPE=$CORE failed"
fi

# ---- sgemm peak of aurl's kernel ------------------------------------------
p_auto="" p_hand=""
if [ -x "$BUILD/bench/sgemm_peak" ]; then
    echo
    echo "== sgemm peak (bench/sgemm_peak.c: 1024 and 2048, 1 and 2 threads, best of $PEAK_REPEATS)"
    shipped "$BUILD/bench/sgemm_peak" --repeats "$PEAK_REPEATS" --json >"$tmp/peak.out"
    rc=$?
    text "$tmp/peak.out"
    if [ "$rc" = 0 ]; then
        p_auto=$(json_num "$tmp/peak.out" peak_2t_gflops)
        p_core=$(json_str "$tmp/peak.out" blas_core)
        [ "$p_core" = "$a_core" ] || echo "bench: warning: sgemm_peak chose $p_core, aurl $a_core"
    else
        echo "bench: sgemm_peak failed"
    fi
    if tuned "$BUILD/bench/sgemm_peak" --repeats "$PEAK_REPEATS" --json >"$tmp/peakh.out"; then
        printf 'with OPENBLAS_CORETYPE=%s by hand: ' "$CORE"
        grep '^peak, 2' "$tmp/peakh.out"
        p_hand=$(json_num "$tmp/peakh.out" peak_2t_gflops)
    else
        echo "bench: sgemm_peak with OPENBLAS_CORETYPE=$CORE failed"
    fi
else
    echo "(no $BUILD/bench/sgemm_peak: no sgemm peak; run 'make bench')"
fi

# ---- training: PyTorch as shipped and tuned -------------------------------
s_tps="" s_peak="" s_core="" s_rss="" t_tps="" t_peak="" t_core="" t_rss=""
if [ "$have_torch" = 1 ]; then
    for kind in shipped tuned; do
        echo
        if [ "$kind" = shipped ]; then
            echo "== training, PyTorch as shipped (OPENBLAS_CORETYPE unset): $TORCH_STEPS steps, torch.mm peak"
        else
            echo "== training, PyTorch tuned (OPENBLAS_CORETYPE=$CORE): $TORCH_STEPS steps, torch.mm peak"
        fi
        if "$kind" "$PY" bench/torch_bench.py --config "$CONFIG" --steps "$TORCH_STEPS" --threads 2 \
            --peak 1024,2048 --json >"$tmp/torch.$kind"; then
            text "$tmp/torch.$kind"
        else
            echo "bench: torch_bench.py ($kind) failed"
            rm -f "$tmp/torch.$kind"
        fi
    done
    if [ -f "$tmp/torch.shipped" ]; then
        s_tps=$(json_num "$tmp/torch.shipped" tokens_per_s)
        s_peak=$(json_num "$tmp/torch.shipped" peak_gflops)
        s_core=$(json_str "$tmp/torch.shipped" blas_core)
        s_rss=$(json_num "$tmp/torch.shipped" peak_rss_mb)
    fi
    if [ -f "$tmp/torch.tuned" ]; then
        t_tps=$(json_num "$tmp/torch.tuned" tokens_per_s)
        t_peak=$(json_num "$tmp/torch.tuned" peak_gflops)
        t_core=$(json_str "$tmp/torch.tuned" blas_core)
        t_rss=$(json_num "$tmp/torch.tuned" peak_rss_mb)
    fi
else
    echo
    echo "== PyTorch: not available ($PY has no torch); skipping the comparison"
fi
# GFLOP/s of a PyTorch run: the same model, so aurl's FLOP per token.
gf_of() {
    awk -v t="$1" -v a="$a_tps" -v g="$a_gf" 'BEGIN { if (t != "" && a + 0 > 0) printf "%.2f\n", t * g / a }'
}
s_gf=$(gf_of "$s_tps")
t_gf=$(gf_of "$t_tps")

# ---- sampling: gen_bench auto and by hand, torch_generate shipped and tuned --
gen_note="" ga_tps="" ga_ftt="" ga_b="" gh_tps="" gh_ftt="" gh_b=""
sb1_tps="" sb1_ftt="" sbn_tps="" tb1_tps="" tb1_ftt="" tbn_tps=""
# gen_extra FILE: the batched tokens/s field gen_bench may add (the first
# *tokens_per_s key besides tokens_per_s), as "KEY VALUE".
gen_extra() {
    tail -n 1 "$1" | tr ',{}' '\n\n\n' | sed -n 's/^ *"\([a-z0-9_]*tokens_per_s\)": *\([-0-9.eE+]*\).*/\1 \2/p' |
        grep -v '^tokens_per_s ' | head -n 1
}
if [ -x "$BUILD/bench/gen_bench" ]; then
    echo
    echo "== sampling: $GEN_TOKENS tokens, top-p, KV cache, reference model (bench/gen_bench.c, bench/torch_generate.py)"
    for kind in shipped tuned; do
        if "$kind" "$BUILD/bench/gen_bench" --config "$CONFIG" --tokens "$GEN_TOKENS" --json >"$tmp/gen.$kind"; then
            if [ "$kind" = shipped ]; then
                printf 'aurl, OPENBLAS_CORETYPE unset: '
            else
                printf 'aurl, OPENBLAS_CORETYPE=%s: ' "$CORE"
            fi
            tail -n 1 "$tmp/gen.$kind"
        else
            echo "bench: gen_bench ($kind) failed"
        fi
    done
    ga_tps=$(json_num "$tmp/gen.shipped" tokens_per_s 2>/dev/null)
    ga_ftt=$(json_num "$tmp/gen.shipped" first_token_ms 2>/dev/null)
    gh_tps=$(json_num "$tmp/gen.tuned" tokens_per_s 2>/dev/null)
    gh_ftt=$(json_num "$tmp/gen.tuned" first_token_ms 2>/dev/null)
    ga_b=$(gen_extra "$tmp/gen.shipped" 2>/dev/null)
    ga_prec=$(json_str "$tmp/gen.shipped" precision 2>/dev/null)
    # the other precision's numbers (gen_bench measures fp32 and bf16; the flat fields are the default's)
    for p in fp32 bf16; do
        eval "ga_${p}_b1=\$(json_num \"\$tmp/gen.shipped\" ${p}_tokens_per_s 2>/dev/null)"
        eval "ga_${p}_bn=\$(json_num \"\$tmp/gen.shipped\" ${p}_batch_tokens_per_s 2>/dev/null)"
        eval "gh_${p}_b1=\$(json_num \"\$tmp/gen.tuned\" ${p}_tokens_per_s 2>/dev/null)"
        eval "gh_${p}_bn=\$(json_num \"\$tmp/gen.tuned\" ${p}_batch_tokens_per_s 2>/dev/null)"
    done
    gh_b=$(gen_extra "$tmp/gen.tuned" 2>/dev/null)
    [ -n "$ga_b" ] && echo "(batched sampling field from gen_bench: ${ga_b%% *})"
    ga_core=$(json_str "$tmp/gen.shipped" blas_core 2>/dev/null)
    [ -z "$ga_core" ] && echo "(gen_bench names no blas_core; its unset-variable run uses whatever kernel it loads)"
    [ -n "$ga_core" ] || gen_note="sampling 'aurl auto' is gen_bench with OPENBLAS_CORETYPE unset; it names no kernel"
    if [ "$have_torch" = 1 ]; then
        for kind in shipped tuned; do
            for b in 1 "$GEN_BATCH"; do
                n=$GEN_TOKENS
                [ "$b" = 1 ] || n=$GEN_BATCH_TOKENS
                if "$kind" "$PY" bench/torch_generate.py --config "$CONFIG" --tokens "$n" --threads 2 \
                    --mode cache --batch "$b" --json >"$tmp/tgen.$kind.$b"; then
                    printf 'pytorch %s: ' "$kind"
                    tail -n 1 "$tmp/tgen.$kind.$b"
                else
                    echo "bench: torch_generate.py ($kind, batch $b) failed"
                fi
            done
            if [ "$TORCH_NOCACHE" = 1 ] &&
                "$kind" "$PY" bench/torch_generate.py --config "$CONFIG" --tokens "$GEN_TOKENS" --threads 2 \
                    --mode nocache --json >"$tmp/tgen.$kind.nocache"; then
                printf 'pytorch %s, no cache: ' "$kind"
                tail -n 1 "$tmp/tgen.$kind.nocache"
            fi
        done
        sb1_tps=$(json_num "$tmp/tgen.shipped.1" tokens_per_s 2>/dev/null)
        sb1_ftt=$(json_num "$tmp/tgen.shipped.1" first_token_ms 2>/dev/null)
        sbn_tps=$(json_num "$tmp/tgen.shipped.$GEN_BATCH" tokens_per_s 2>/dev/null)
        tb1_tps=$(json_num "$tmp/tgen.tuned.1" tokens_per_s 2>/dev/null)
        tb1_ftt=$(json_num "$tmp/tgen.tuned.1" first_token_ms 2>/dev/null)
        tbn_tps=$(json_num "$tmp/tgen.tuned.$GEN_BATCH" tokens_per_s 2>/dev/null)
    fi
fi

# ---- aurl-only benchmarks ---------------------------------------------------
echo
echo "== T scaling: ms per training step, batch 1 ($SCALING_STEPS steps each)"
printf '%6s %14s %18s\n' T full "sliding W=256"
for T in 512 1024 2048 4096; do
    row="$T"
    for kind in full sliding_window; do
        if "$AURL" bench --config "$CONFIG" --batch 1 --seq "$T" --attention "$kind" --window 256 \
            --steps "$SCALING_STEPS" --sample 0 --json >"$tmp/scale.out" 2>&1; then
            row="$row $(json_num "$tmp/scale.out" step_ms)"
        else
            row="$row failed"
        fi
    done
    echo "$row" | awk '{ printf "%6s %14.1f %18.1f\n", $1, $2, $3 }'
done

if [ -x "$BUILD/bench/attn_scaling" ]; then
    echo
    echo "== attention kernel scaling (bench/attn_scaling.c)"
    "$BUILD/bench/attn_scaling"
fi

if [ -x "$BUILD/bench/data_pipeline" ]; then
    echo
    echo "== data pipeline (bench/data_pipeline.c) on data/midi"
    "$BUILD/bench/data_pipeline" --json data >"$tmp/data.out" && text "$tmp/data.out"
    a_read=$(json_num "$tmp/data.out" read_files_per_s)
    if "$PY" -c 'import mido' 2>/dev/null; then
        "$PY" bench/mido_read.py --json data >"$tmp/mido.out" && text "$tmp/mido.out"
        m_read=$(json_num "$tmp/mido.out" read_files_per_s)
        [ -n "$a_read" ] && [ -n "$m_read" ] &&
            awk -v a="$a_read" -v m="$m_read" 'BEGIN { printf "aurl / mido MIDI reading: %.1fx\n", a / m }'
    else
        echo "(python3-mido not installed: no mido comparison)"
    fi
fi

if [ -x "$BUILD/bench/mode_step" ]; then
    echo
    echo "== training step by mode (stage-3 config and quick_test profile) =="
    "$BUILD/bench/mode_step" 5 20 || echo "bench: mode_step failed"
fi

# ---- summary ----------------------------------------------------------------
echo
echo "== summary, $mode: reference config, 2 threads"
row() { printf '%-26s %14s %14s %16s %14s\n' "$@"; }
row "" "aurl auto" "aurl by hand" "pytorch shipped" "pytorch tuned"
row "OpenBLAS core" "$a_core" "${h_core:--}" "${s_core:--}" "${t_core:--}"
row "sgemm peak GFLOP/s, 2t" "$(fmt "$p_auto" 1)" "$(fmt "$p_hand" 1)" "$(fmt "$s_peak" 1)" "$(fmt "$t_peak" 1)"
row "training tokens/s" "$(fmt "$a_tps" 0)" "$(fmt "$h_tps" 0)" "$(fmt "$s_tps" 0)" "$(fmt "$t_tps" 0)"
row "training GFLOP/s" "$(fmt "$a_gf" 1)" "$(fmt "$h_gf" 1)" "$(fmt "$s_gf" 1)" "$(fmt "$t_gf" 1)"
row "training peak RSS MB" "$(fmt "$a_rss" 0)" "-" "$(fmt "$s_rss" 0)" "$(fmt "$t_rss" 0)"
row "aurl auto / this, train" "1.00x" "$(ratio "$a_tps" "$h_tps")" "$(ratio "$a_tps" "$s_tps")" "$(ratio "$a_tps" "$t_tps")"
row "sampling b1 tokens/s" "$(fmt "$ga_tps" 0)" "$(fmt "$gh_tps" 0)" "$(fmt "$sb1_tps" 0)" "$(fmt "$tb1_tps" 0)"
row "sampling b$GEN_BATCH tokens/s" "$(fmt "${ga_b#* }" 0)" "$(fmt "${gh_b#* }" 0)" "$(fmt "$sbn_tps" 0)" "$(fmt "$tbn_tps" 0)"
for p in fp32 bf16; do
    eval "v1=\$ga_${p}_b1 vn=\$ga_${p}_bn w1=\$gh_${p}_b1 wn=\$gh_${p}_bn"
    [ -n "$v1" ] || continue
    row "  $p b1 / b$GEN_BATCH" "$(fmt "$v1" 0)/$(fmt "$vn" 0)" "$(fmt "$w1" 0)/$(fmt "$wn" 0)" "-" "-"
done
[ -n "$ga_prec" ] && echo "(aurl's sampling rows are its default precision, $ga_prec; the two below it each precision)"
row "first token ms (b1)" "$(fmt "$ga_ftt" 2)" "$(fmt "$gh_ftt" 2)" "$(fmt "$sb1_ftt" 2)" "$(fmt "$tb1_ftt" 2)"
row "aurl auto / this, b1" "1.00x" "$(ratio "$ga_tps" "$gh_tps")" "$(ratio "$ga_tps" "$sb1_tps")" "$(ratio "$ga_tps" "$tb1_tps")"
[ -n "$gen_note" ] && echo "($gen_note)"
echo "targets:"
target "training tokens/s, aurl auto / pytorch tuned" "$(awk -v a="$a_tps" -v t="$t_tps" 'BEGIN { if (a != "" && t + 0 > 0) print a / t }')" 3
target "training GFLOP/s, aurl auto / sgemm peak (2 threads)" "$(awk -v a="$a_gf" -v p="$p_auto" 'BEGIN { if (a != "" && p + 0 > 0) print a / p }')" 0.70
target "KV-cached sampling b1 tokens/s, aurl auto" "$ga_tps" 5000
target "KV-cached sampling b$GEN_BATCH tokens/s in all, aurl auto" "${ga_b#* }" 20000
for p in fp32 bf16; do
    eval "v1=\$ga_${p}_b1 vn=\$ga_${p}_bn"
    [ -n "$v1" ] || continue
    target "  the same in $p, b1" "$v1" 5000
    target "  the same in $p, b$GEN_BATCH" "$vn" 20000
done
load_end=$(cut -d ' ' -f 1 /proc/loadavg)
awk -v l="$load_end" -v b="$BUSY" -v n="$(nproc)" 'BEGIN { if (l - b > n / 2)
    printf "(load average %.1f on %d cores at the end: other processes competed; timings are pessimistic)\n", l, n }'
