#!/bin/sh
# 1 rank x 2 threads vs 2 ranks x 1 thread (OpenMPI, shared memory) on this
# machine: training tokens/s of the stage-1 model size and the time the
# 2-rank job spends in collectives (the gradient all-reduce plus waiting
# for the slower rank), for the transformer (stage 1) and, with MODES
# including vae_gan, the stage-3 VAE-GAN on the same decoder (GAN from step
# 0). Both runs do the same maths (2 ranks x batch 4 == 1 process x batch
# 8). Knobs: MODES (default "transformer vae_gan"), STEPS (12), SEQ (256),
# REPEAT (2), BUILD (build). Needs data/ (`make data`). Prints one line per
# run and the ratio; keep the machine otherwise idle.
set -eu
BUILD=${BUILD:-build}
STEPS=${STEPS:-12}
SEQ=${SEQ:-256}
REPEAT=${REPEAT:-2}
MODES=${MODES:-transformer vae_gan}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The config of MODE into $tmp/bench.yaml.
write_config() {
    stage=1
    extra=""
    if [ "$1" = vae_gan ]; then
        stage=3
        extra="vae: {beta: {warmup_steps: 2}}
gan: {start_step: 0}"
    fi
    cat > "$tmp/bench.yaml" <<YAML
stage: $stage
name: mpi_bench
mode: $1
model: {d_model: 256, n_layers: 4, n_heads: 4, d_ff: 1024, max_seq_len: 512, dropout: 0.0}
data: {seq_len: $SEQ, stride: $SEQ, augment: false}
training:
  batch_size: 8
  max_steps: $STEPS
  warmup_steps: 2
  eval_every: 100000
  eval_batches: 1
  checkpoint_every: 100000
  keep_checkpoints: 0
  log_every: 1
  sample_every: 0
  init_from_previous: false
$extra
YAML
}
# Tokens/s over steps 3.. (the first two warm up) and seconds in collectives.
summary() {
    python3 - "$1/logs/metrics.jsonl" <<'PY'
import json, sys
t = tok = comm = 0.0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") != "train" or r["step"] <= 2: continue
    dt = 1.0 / r["steps_per_s"]
    t += dt; tok += r["tokens_per_s"] * dt; comm += r.get("comm_s", 0.0)
print("%.0f %.3f %.3f" % (tok / t, comm, t))
PY
}
run() { # NAME RANKS THREADS
    out="$tmp/$1"
    rm -rf "$out"
    if [ "$2" -gt 1 ]; then
        OMP_NUM_THREADS=$3 mpirun --oversubscribe --bind-to none -np "$2" -x OMP_NUM_THREADS \
            "$BUILD/aurl" -q --threads "$3" --outputs "$out" train --config "$tmp/bench.yaml"
    else
        OMP_NUM_THREADS=$3 "$BUILD/aurl" -q --threads "$3" --outputs "$out" train --config "$tmp/bench.yaml"
    fi
    set -- $(summary "$out") "$1"
    printf '%-30s %8s tok/s  %6.2f s in collectives of %6.2f s (%4.1f%%)\n' "$4" "$1" "$2" "$3" \
        "$(python3 -c "print(100*$2/$3)")"
    echo "$1" > "$tmp/$4.tps"
}
for mode in $MODES; do
    write_config "$mode"
    i=1
    while [ "$i" -le "$REPEAT" ]; do
        run "${mode}_1rank_x_2threads" 1 2
        run "${mode}_2ranks_x_1thread" 2 1
        a=$(cat "$tmp/${mode}_1rank_x_2threads.tps"); b=$(cat "$tmp/${mode}_2ranks_x_1thread.tps")
        python3 -c "print('$mode repeat $i: 2 ranks x 1 thread / 1 rank x 2 threads = %.2f' % ($b / $a))"
        i=$((i + 1))
    done
done
