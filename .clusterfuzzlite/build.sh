#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: the libFuzzer targets of fuzz/, their
# seed corpora, and the handwritten contracts the `scenario` target reads
# (looked up in `corpus/` next to the binary). Works outside the image too:
#   OUT=/tmp/out bash .clusterfuzzlite/build.sh
cd "${SRC:-.}/dusk-vm-conformance" 2>/dev/null || cd "$(dirname "$0")/.."
# OSS-Fuzz images default to a nightly; elsewhere ask rustup for one.
toolchain=()
rustc --version | grep -q nightly || toolchain=(+nightly)
# Coverage counters only on the crates the targets explore (see the script).
export RUSTC_WRAPPER="$PWD/fuzz/coverage-filter.sh"
cargo "${toolchain[@]}" fuzz build -O --features libfuzzer
triple=$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')
mkdir -p "$OUT/corpus"
cp -r corpus/contracts "$OUT/corpus/"
for target in differential gas admission scenario; do
  cp "target/$triple/release/$target" "$OUT/"
  (cd "corpus/seeds/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
done
