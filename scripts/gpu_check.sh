#!/usr/bin/env bash
# GPU check of the wgpu path, in two steps.
#
#   scripts/gpu_check.sh prepare        # here, with the Rust toolchain and network:
#       builds the neural_bench example (its gpu_check program) and fills gpu_carry/ with the
#       stripped binary, the weights of $GPU_BACKBONES (tags, default "mnv2 lite0"; the carry holds about two),
#       the reference tensors/images and the Vulkan
#       loader and GL dispatch packages (libvulkan1, libglvnd0, libglx0, ...) for a machine that lacks them
#       (the NVIDIA Vulkan ICD is libGLX_nvidia.so.0, which needs libglvnd).
#
#   scripts/gpu_check.sh [N_IMAGES] [BATCH]   # on the GPU machine (no toolchain, no network),
#       from the repository root, in three phases, each under a time limit ($FORWARD_LIMIT_S 210,
#       $PEER_LIMIT_S 150, $FINE_TUNE_LIMIT_S 120: at most ~8 minutes in all):
#       1. unpacks gpu_carry/neural_bench.xz and runs its gpu_check: parity, featurization at
#          BATCH on wgpu and CPU, forward-only sweep over $SWEEP_BATCHES (default 64,128,256) in
#          f32 and f16 ($PRECISIONS, default f32,f16) → gpu_check.{json,md} in $OUT (default
#          ./gpu_check_out);
#       2. when PyTorch with CUDA is there, its peer on the same images
#          (benches/python/torch_gpu_anchor.py: cudnn.benchmark, channels_last, fp32/tf32/fp16,
#          DataLoader workers and GPU decode) → torch_gpu_anchor.json;
#       3. fine-tuning time on $FINE_TUNE_IMAGES images (default 512) on wgpu and CPU →
#          gpu_check_fine_tune.{json,md}.
#       Everything printed goes to gpu_check.log too.
#
# Environment: GPU_CARRY (default gpu_carry), OUT, WEIGHTS_DIR (prepare: where the zoo cached
# the weights, default ~/.cache/autopilot/models), REFERENCE_DIR (prepare: default
# /work/shared/reference).
set -uo pipefail
cd "$(dirname "$0")/.."
CARRY="${GPU_CARRY:-gpu_carry}"

prepare() {
  set -e
  local weights="${WEIGHTS_DIR:-${AUTOPILOT_CACHE:+$AUTOPILOT_CACHE/models}}"
  weights="${weights:-$HOME/.cache/autopilot/models}"
  local reference="${REFERENCE_DIR:-/work/shared/reference}"
  # The test build (examples included) shares its artifacts with `cargo test`; building the
  # example alone resolves other features and rebuilds the whole burn stack.
  cargo test --release --workspace --no-run
  mkdir -p "$CARRY/weights" "$CARRY/reference/backbones" "$CARRY/debs"
  # Stripped, the binary is ~90 MB; xz brings it to ~16 MB (the carry budget is ~60 MiB).
  strip -o /tmp/neural_bench_stripped target/release/examples/neural_bench
  xz -T2 -6 -c /tmp/neural_bench_stripped > "$CARRY/neural_bench.xz"
  # The carry budget (~60 MiB) holds the binary and about two backbones' weights.
  local tag file
  for tag in ${GPU_BACKBONES:-mnv2 lite0}; do
    case "$tag" in
      mnv2) file=mobilenet_v2-b0353104.pth ;;
      lite0) file=efficientnet-lite0-57934424.pth ;;
      lite1) file=efficientnet-lite1-77cc7160.pth ;;
      lite2) file=efficientnet-lite2-9656183e.pth ;;
      *) echo "unknown backbone tag $tag (mnv2 lite0 lite1 lite2)" >&2; exit 1 ;;
    esac
    if [ ! -f "$weights/$file" ]; then
      echo "missing $weights/$file: run 'autopilot models fetch' for it first" >&2
      exit 1
    fi
    cp "$weights/$file" "$CARRY/weights/"
    cp "$reference"/backbones/"$tag"_* "$CARRY/reference/backbones/"
  done
  cp "$reference"/chelsea.png "$reference"/coffee.png "$CARRY/reference/"
  # The EfficientNet-Lite architecture for the PyTorch peer (pure Python, 23 kB).
  mkdir -p "$CARRY/wheels"
  pip download --no-deps -q -d "$CARRY/wheels" efficientnet-lite-pytorch==0.1.0 \
    || echo "warning: no efficientnet-lite-pytorch wheel: the peer times MobileNetV2 only" >&2
  # The Vulkan loader (a GPU image may have the NVIDIA driver but no libvulkan.so.1).
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  if apt-get $o update -qq && (cd "$CARRY/debs" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2); then
    :
  else
    echo "warning: could not download libvulkan1; the GPU machine must have a Vulkan loader" >&2
  fi
  ls -la "$CARRY" "$CARRY"/*
  du -sh "$CARRY"
  echo "binary: $(stat -c %s /tmp/neural_bench_stripped) bytes stripped, $(stat -c %s "$CARRY/neural_bench.xz") bytes xz"
}

vulkan_setup() {
  # Vulkan loader: unpack the carried one when the machine has none.
  # The NVIDIA Vulkan ICD (libGLX_nvidia.so.0) needs the glvnd dispatch libraries, and lives in
  # /usr/local/nvidia/lib64 on the lent machines: without both, wgpu finds no adapter.
  [ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
  if ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch.so.0' || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    echo "no libvulkan.so.1: unpacking $CARRY/debs"
    for f in "$CARRY"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
    ldconfig
  fi
  ldconfig -p | grep libvulkan || echo "still no Vulkan loader"
  # The NVIDIA ICD may live outside the loader's search path.
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$icd"
    echo "VK_DRIVER_FILES=$VK_DRIVER_FILES"
  fi
}

run_check() {
  local n="${1:-512}" batch="${2:-32}"
  SWEEP_BATCHES="${SWEEP_BATCHES:-64,128,256}"
  FINE_TUNE_IMAGES="${FINE_TUNE_IMAGES:-512}"
  # Time limits of the three phases, in seconds: a device call runs at most 600 s and the lent
  # machine's 15 minutes include its start, so the comparison the issue asks for (our forward
  # against PyTorch's) comes first and fine-tuning last. Each phase writes its results as it
  # goes; a phase stopped by its limit keeps what it measured.
  local forward_limit="${FORWARD_LIMIT_S:-210}" peer_limit="${PEER_LIMIT_S:-150}"
  local fine_tune_limit="${FINE_TUNE_LIMIT_S:-120}"
  local out="${OUT:-gpu_check_out}" images=/tmp/gpu_check_images
  mkdir -p "$out"
  {
    echo "== machine"
    date -u; uname -a; nproc
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
    vulkan_setup
    rm -rf "$images"
    python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" \
      "$CARRY/neural_bench.xz" /tmp/neural_bench && chmod +x /tmp/neural_bench
    # Fine-tuning reads its backbone from the zoo cache: point it at the carried weights.
    mkdir -p /tmp/gpu_check_cache && ln -sfn "$(realpath "$CARRY/weights")" /tmp/gpu_check_cache/models
    local check=(/tmp/neural_bench gpu_check --weights-dir "$CARRY/weights"
      --reference-dir "$CARRY/reference" --images "$n" --batch "$batch" --images-dir "$images"
      --sweep-batches "$SWEEP_BATCHES" --precisions "${PRECISIONS:-f32,f16}")
    local t0=$SECONDS
    echo "== ours: parity, featurization, forward sweep (images $n, batch $batch; limit ${forward_limit}s)"
    AUTOPILOT_CACHE=/tmp/gpu_check_cache timeout -k 5 "$forward_limit" "${check[@]}" \
      --parts parity,featurize,sweep --json "$out/gpu_check.json" --markdown "$out/gpu_check.md"
    echo "gpu_check exit $? after $((SECONDS - t0)) s"
    if python3 -c 'import torch, torchvision; assert torch.cuda.is_available()' 2>/dev/null; then
      echo "== PyTorch CUDA peer (same weights and images; benches/python/torch_gpu_anchor.py; limit ${peer_limit}s)"
      t0=$SECONDS
      timeout -k 5 "$peer_limit" python3 benches/python/torch_gpu_anchor.py "$CARRY/weights" \
        "$CARRY/reference" "$images" "$out/torch_gpu_anchor.json" "$SWEEP_BATCHES" \
        "$(ls "$CARRY"/wheels/efficientnet_lite_pytorch-*.whl 2>/dev/null | head -1)"
      echo "peer exit $? after $((SECONDS - t0)) s"
    else
      echo "no PyTorch with CUDA here: peer skipped"
    fi
    echo "== ours: fine-tuning ($FINE_TUNE_IMAGES images; limit ${fine_tune_limit}s)"
    t0=$SECONDS
    AUTOPILOT_CACHE=/tmp/gpu_check_cache timeout -k 5 "$fine_tune_limit" "${check[@]}" \
      --parts fine-tune --fine-tune-images "$FINE_TUNE_IMAGES" \
      --fine-tune-cpu-images "$FINE_TUNE_IMAGES" --fine-tune-epochs 3 \
      --json "$out/gpu_check_fine_tune.json" --markdown "$out/gpu_check_fine_tune.md"
    echo "fine-tuning exit $? after $((SECONDS - t0)) s"
    rm -rf "$images"
  } 2>&1 | tee "$out/gpu_check.log"
}

# The self-normalizing net's engines (issue 5): peer_parity --models snn on the covers features
# with each backend, or (`snn-speed ARGS`) neural_bench's snn_speed on synthetic data of a chosen
# size. `prepare-snn` (here) packs both binaries, the cached MobileNetV2 features, albums.csv and
# the peer's fold file into $CARRY/snn; `snn` / `snn-speed` (there) run them.
prepare_snn() {
  set -e
  local cache="${AUTOPILOT_CACHE:-$HOME/.cache/autopilot}"
  cargo build --release --workspace --bins
  mkdir -p "$CARRY/snn/cache/bench" "$CARRY/snn/data/covers-spotify" "$CARRY/snn/peer"
  strip -o /tmp/peer_parity_stripped target/release/peer_parity
  xz -T2 -6 -c /tmp/peer_parity_stripped > "$CARRY/snn/peer_parity.xz"
  # snn_speed is a program of the neural_bench example: the test build makes it without
  # rebuilding burn.
  cargo test --release --workspace --no-run
  strip -o /tmp/neural_bench_stripped target/release/examples/neural_bench
  xz -T2 -6 -c /tmp/neural_bench_stripped > "$CARRY/snn/neural_bench.xz"
  cp "$cache/bench/covers_mobilenet-v2_highest.f32" "$CARRY/snn/cache/bench/"
  cp /work/shared/data/covers-spotify/albums.csv "$CARRY/snn/data/covers-spotify/"
  cp /work/shared/bench/peer/results/covers_mobilenet_v2.json "$CARRY/snn/peer/"
  du -sh "$CARRY"/*
}

run_snn() {
  local out="${OUT:-gpu_check_out}" backends="${*:-native burn-wgpu}"
  mkdir -p "$out"
  {
    echo "== machine"
    date -u; nproc
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
    vulkan_setup
    python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" \
      "$CARRY/snn/peer_parity.xz" /tmp/peer_parity && chmod +x /tmp/peer_parity
    for backend in $backends; do
      echo "== snn backend $backend"
      AUTOPILOT_CACHE="$CARRY/snn/cache" AUTOPILOT_DATA="$CARRY/snn/data" PEER_DIR="$CARRY/snn/peer" \
        /tmp/peer_parity covers --backbone mobilenet_v2 --models snn --lists image,all \
        --set "snn.backend=$backend"
    done
  } 2>&1 | grep -v XDG_RUNTIME_DIR | tee "$out/gpu_snn.log"
}

run_snn_speed() {
  local out="${OUT:-gpu_check_out}"
  mkdir -p "$out"
  {
    vulkan_setup
    python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" \
      "$CARRY/snn/neural_bench.xz" /tmp/neural_bench && chmod +x /tmp/neural_bench
    /tmp/neural_bench snn_speed "$@"
  } 2>&1 | grep -v XDG_RUNTIME_DIR | tee -a "$out/gpu_snn_speed.log"
}

case "${1:-}" in
  prepare) prepare ;;
  snn-speed) shift; run_snn_speed "$@" ;;
  prepare-snn) prepare_snn ;;
  snn) shift; run_snn "$@" ;;
  -h|--help) sed -n 2,16p "$0" ;;
  *) run_check "$@" ;;
esac
