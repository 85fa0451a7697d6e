#!/usr/bin/env bash
# RUSTC_WRAPPER for `cargo fuzz build`: keeps libFuzzer's coverage
# instrumentation (SanitizerCoverage) on the crates whose behaviour the
# targets explore and removes it from the others.
#
# Why: libFuzzer scans every coverage counter after every execution, and
# Cranelift, wasmtime, wasm-smith and the parsers bring millions of them
# (Cranelift's generated instruction matchers are also full of switches
# that `trace-compares` slows down). Instrumenting them all made the
# `differential` target spend over 70 % of its time in libFuzzer's
# bookkeeping. Sanitizers (`-s address`, ...) stay on every crate.
#
# wasmi keeps its edge counters but not `trace-compares`: its interpreter
# dispatches every Wasm instruction through a large `match`, and tracing
# each of those switches cost more than everything else together.
#
# FUZZ_COVERAGE_CRATES and FUZZ_COUNTERS_ONLY_CRATES override the lists
# (crate names, space-separated).
set -euo pipefail
rustc="$1"
shift
keep="${FUZZ_COVERAGE_CRATES:-vm fuzz conformance differential gas admission scenario}"
counters_only="${FUZZ_COUNTERS_ONLY_CRATES:-wasmi wasmi_core wasmi_ir wasmi_collections}"
crate=""
previous=""
for arg in "$@"; do
    if [ "$previous" = "--crate-name" ]; then
        crate="$arg"
    fi
    previous="$arg"
done
for kept in $keep; do
    if [ "$crate" = "$kept" ]; then
        exec "$rustc" "$@"
    fi
done
for kept in $counters_only; do
    if [ "$crate" = "$kept" ]; then
        args=()
        for arg in "$@"; do
            case "$arg" in
                -Cllvm-args=-sanitizer-coverage-trace-compares) ;;
                *) args+=("$arg") ;;
            esac
        done
        exec "$rustc" "${args[@]}"
    fi
done
args=()
for arg in "$@"; do
    case "$arg" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
    esac
done
exec "$rustc" "${args[@]}"
