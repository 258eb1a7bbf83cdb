#!/bin/sh
# bench/run.sh — what `make bench` runs (from the repository root, after
# `make all`): aurl vs PyTorch training speed on bench/reference.yaml, the
# T-scaling table of full vs sliding-window attention, and the attention
# kernel scaling benchmark when bench/attn_scaling.c exists.
# Environment: STEPS (aurl steps, default 20), TORCH_STEPS (default 10),
# SCALING_STEPS (default 2), PYTHON (default /usr/bin/python3).
set -u
AURL=./aurl
CONFIG=bench/reference.yaml
STEPS=${STEPS:-20}
TORCH_STEPS=${TORCH_STEPS:-10}
SCALING_STEPS=${SCALING_STEPS:-2}
PY=${PYTHON:-/usr/bin/python3}

if [ ! -x "$AURL" ]; then
    echo "bench: $AURL not found; run 'make all' first" >&2
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aurl-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM # stop (the EXIT trap cleans up), rather than run on

# json_num FILE KEY: a numeric field of the last line's JSON object.
json_num() {
    tail -n 1 "$1" | sed -n "s/.*\"$2\":[ ]*\([-0-9.eE+]*\).*/\1/p"
}

echo "== aurl: $CONFIG, $STEPS steps"
if ! "$AURL" bench --config "$CONFIG" --steps "$STEPS" --json >"$tmp/aurl.out"; then
    cat "$tmp/aurl.out"
    echo "bench: aurl bench failed" >&2
    exit 1
fi
cat "$tmp/aurl.out"
a_tps=$(json_num "$tmp/aurl.out" tokens_per_s)
a_gf=$(json_num "$tmp/aurl.out" gflops)
a_rss=$(json_num "$tmp/aurl.out" peak_rss_mb)

t_tps=""
echo
if "$PY" -c 'import torch' 2>/dev/null; then
    echo "== PyTorch: $CONFIG, $TORCH_STEPS steps"
    if "$PY" bench/torch_bench.py --config "$CONFIG" --steps "$TORCH_STEPS" --threads 2 --json >"$tmp/torch.out"; then
        cat "$tmp/torch.out"
        t_tps=$(json_num "$tmp/torch.out" tokens_per_s)
        t_rss=$(json_num "$tmp/torch.out" peak_rss_mb)
    else
        echo "bench: torch_bench.py failed"
    fi
else
    echo "== PyTorch: not available ($PY has no torch); skipping the comparison"
fi

echo
echo "== comparison (reference config)"
printf '%-10s %12s %10s %14s\n' "" "tokens/s" "GFLOP/s" "peak RSS MB"
printf '%-10s %12.0f %10.1f %14.0f\n' aurl "$a_tps" "$a_gf" "$a_rss"
if [ -n "$t_tps" ]; then
    printf '%-10s %12.0f %10s %14.0f\n' pytorch "$t_tps" "-" "$t_rss"
    awk -v a="$a_tps" -v t="$t_tps" 'BEGIN { printf "aurl / pytorch tokens/s: %.2fx (target >= 1.5x)\n", a / t }'
fi

echo
echo "== T scaling: ms per training step, batch 1 ($SCALING_STEPS steps each)"
printf '%6s %14s %18s\n' T full "sliding W=256"
for T in 512 1024 2048 4096; do
    row="$T"
    for kind in full sliding_window; do
        if "$AURL" bench --config "$CONFIG" --batch 1 --seq "$T" --attention "$kind" --window 256 \
            --steps "$SCALING_STEPS" --json >"$tmp/scale.out" 2>&1; then
            row="$row $(json_num "$tmp/scale.out" step_ms)"
        else
            row="$row failed"
        fi
    done
    echo "$row" | awk '{ printf "%6s %14.1f %18.1f\n", $1, $2, $3 }'
done

BUILD=${BUILD:-build}
if [ -x "$BUILD/bench/attn_scaling" ]; then
    echo
    echo "== attention kernel scaling (bench/attn_scaling.c)"
    "$BUILD/bench/attn_scaling"
fi

if [ -x "$BUILD/bench/data_pipeline" ]; then
    echo
    echo "== data pipeline (bench/data_pipeline.c) on data/midi"
    "$BUILD/bench/data_pipeline" --json data >"$tmp/data.out" && grep -v '^{' "$tmp/data.out"
    a_read=$(json_num "$tmp/data.out" read_files_per_s)
    if "$PY" -c 'import mido' 2>/dev/null; then
        "$PY" bench/mido_read.py --json data >"$tmp/mido.out" && grep -v '^{' "$tmp/mido.out"
        m_read=$(json_num "$tmp/mido.out" read_files_per_s)
        [ -n "$a_read" ] && [ -n "$m_read" ] &&
            awk -v a="$a_read" -v m="$m_read" 'BEGIN { printf "aurl / mido MIDI reading: %.1fx\n", a / m }'
    else
        echo "(python3-mido not installed: no mido comparison)"
    fi
fi

if [ -x "$BUILD/bench/gen_bench" ]; then
    GEN_TOKENS=${GEN_TOKENS:-1024}
    echo
    echo "== sampling: $GEN_TOKENS tokens, top-p, reference model (bench/gen_bench.c vs bench/torch_generate.py)"
    if "$BUILD/bench/gen_bench" --config "$CONFIG" --tokens "$GEN_TOKENS" --json >"$tmp/gen.out"; then
        g_tps=$(json_num "$tmp/gen.out" tokens_per_s)
        g_ftt=$(json_num "$tmp/gen.out" first_token_ms)
        printf '%-22s %12s %18s\n' "" "tokens/s" "first token ms"
        printf '%-22s %12.0f %18.2f\n' "aurl (KV cache)" "$g_tps" "$g_ftt"
        if "$PY" -c 'import torch' 2>/dev/null &&
            "$PY" bench/torch_generate.py --config "$CONFIG" --tokens "$GEN_TOKENS" --threads 2 --json >"$tmp/tgen.out"; then
            for mode in nocache cache; do
                grep "\"$mode\"" "$tmp/tgen.out" >"$tmp/tgen.$mode"
                t_tps=$(json_num "$tmp/tgen.$mode" tokens_per_s)
                t_ftt=$(json_num "$tmp/tgen.$mode" first_token_ms)
                printf '%-22s %12.0f %18.2f\n' "pytorch ($mode)" "$t_tps" "$t_ftt"
                awk -v a="$g_tps" -v t="$t_tps" -v m="$mode" 'BEGIN { printf "  aurl / pytorch %s tokens/s: %.1fx\n", m, a / t }'
            done
        else
            echo "(no PyTorch comparison: $PY lacks torch or torch_generate.py failed)"
        fi
        awk -v a="$g_tps" 'BEGIN { printf "target >= 1000 tokens/s: %s\n", (a >= 1000 ? "met" : "NOT met") }'
    else
        echo "bench: gen_bench failed"
    fi
fi

# ---- model modes: transformer vs VAE vs VAE-GAN training step ---------------
echo
echo "== training step by mode (stage-3 config and quick_test profile) =="
"$BUILD/bench/mode_step" 5 20 || echo "bench: mode_step failed"
