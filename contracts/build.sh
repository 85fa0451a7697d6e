#!/usr/bin/env bash
# Builds every contract of this workspace into wasm/NAME.wasm, reproducibly:
# the toolchain of rust-toolchain.toml, the locked dependencies, the release
# profile of Cargo.toml and the flags below.
#
#   ./build.sh           build and copy the modules into wasm/
#   ./build.sh --check   build apart and fail if wasm/ differs from the sources
#
# CONTRACTS_TARGET_DIR chooses cargo's target folder (default: target/).
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
mode=${1:-build}
case "$mode" in
  build | --check) ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# Let rust-toolchain.toml choose, even when called from another toolchain's
# cargo (cargo test sets these for its children).
unset RUSTUP_TOOLCHAIN RUSTC RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER RUSTFLAGS CARGO_BUILD_TARGET CARGO_TARGET_DIR

target=${CONTRACTS_TARGET_DIR:-$here/target}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Flags, one per line: piecrust's contracts run with a 64 KiB shadow stack
# (rusk builds its contracts so; the default 1 MiB makes every memory 17
# pages), and the paths of the checkout, cargo's registry and the target
# folder are remapped, since panic locations keep them in the module.
flags="-Clink-args=-zstack-size=65536
--remap-path-prefix=$cargo_home=/cargo
--remap-path-prefix=$target=/target
--remap-path-prefix=$here=/contracts"
CARGO_ENCODED_RUSTFLAGS=$(printf '%s' "$flags" | tr '\n' '\037')
export CARGO_ENCODED_RUSTFLAGS

cargo build --locked --release --target wasm32-unknown-unknown --target-dir "$target" --quiet

built="$target/wasm32-unknown-unknown/release"
status=0
names=()
for manifest in */Cargo.toml; do
  grep -q 'crate-type = \["cdylib"\]' "$manifest" || continue
  name=$(dirname "$manifest")
  names+=("$name")
  if [ "$mode" = --check ]; then
    if ! cmp -s "$built/$name.wasm" "wasm/$name.wasm"; then
      echo "wasm/$name.wasm differs from what its source builds to (run contracts/build.sh)" >&2
      status=1
    fi
  else
    cp "$built/$name.wasm" "wasm/$name.wasm"
  fi
done
for module in wasm/*.wasm; do
  [ -e "$module" ] || continue
  name=$(basename "$module" .wasm)
  if [[ ! " ${names[*]} " =~ " $name " ]]; then
    echo "$module has no source in this workspace" >&2
    status=1
  fi
done
[ "$mode" = --check ] && [ "$status" = 0 ] && echo "${#names[@]} contracts match their sources"
exit $status
