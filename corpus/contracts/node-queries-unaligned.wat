;; `node-queries.wat` with its argument buffer one byte off 8-byte
;; alignment: the node's queries check their archive in place, and rkyv
;; refuses values misaligned in memory.
(module
  (import "env" "hq" (func $hq (param i32 i32 i32) (result i32)))
  (memory (export "memory") 3)
  (global (export "A") i32 (i32.const 1))
  (data (i32.const 140000) "hashposeidon_hashverify_plonkverify_groth16_bn254verify_schnorrverify_blsverify_bls_multisigkeccak256sha256verify_kzg_proofsecp256k1_recovermissing")
  ;; Each export hands `hq` the caller's argument as it is.
  (func (export "hash") (param i32) (result i32) i32.const 140000 i32.const 4 local.get 0 call $hq)
  (func (export "poseidon_hash") (param i32) (result i32) i32.const 140004 i32.const 13 local.get 0 call $hq)
  (func (export "verify_plonk") (param i32) (result i32) i32.const 140017 i32.const 12 local.get 0 call $hq)
  (func (export "verify_groth16_bn254") (param i32) (result i32) i32.const 140029 i32.const 20 local.get 0 call $hq)
  (func (export "verify_schnorr") (param i32) (result i32) i32.const 140049 i32.const 14 local.get 0 call $hq)
  (func (export "verify_bls") (param i32) (result i32) i32.const 140063 i32.const 10 local.get 0 call $hq)
  (func (export "verify_bls_multisig") (param i32) (result i32) i32.const 140073 i32.const 19 local.get 0 call $hq)
  (func (export "keccak256") (param i32) (result i32) i32.const 140092 i32.const 9 local.get 0 call $hq)
  (func (export "sha256") (param i32) (result i32) i32.const 140101 i32.const 6 local.get 0 call $hq)
  (func (export "verify_kzg_proof") (param i32) (result i32) i32.const 140107 i32.const 16 local.get 0 call $hq)
  (func (export "secp256k1_recover") (param i32) (result i32) i32.const 140123 i32.const 17 local.get 0 call $hq)
  (func (export "missing") (param i32) (result i32) i32.const 140140 i32.const 7 local.get 0 call $hq)
  ;; `hash` with an argument length one past the argument buffer.
  (func (export "hash_past_argbuf") (param i32) (result i32) i32.const 140000 i32.const 4 i32.const 65537 call $hq))
