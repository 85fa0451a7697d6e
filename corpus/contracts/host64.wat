;; The host imports of a 64-bit contract (pointers are i64), with its
;; argument buffer in the second page.
(module
  (import "env" "hd" (func $hd (param i64 i32) (result i32)))
  (import "env" "emit" (func $emit (param i64 i32 i32)))
  (import "env" "owner" (func $owner (param i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (import "env" "hq" (func $hq (param i64 i32 i32) (result i32)))
  (import "env" "c" (func $c (param i64 i64 i32 i32 i64) (result i32)))
  (memory (export "memory") i64 3)
  (global (export "A") i64 (i64.const 65536))
  (data (i64.const 0) "chaintopichashecho")
  (func (export "hd") (param i32) (result i32) i64.const 0 i32.const 5 call $hd)
  (func (export "hd_oob") (param i32) (result i32) i64.const 0x100000000 i32.const 5 call $hd)
  (func (export "emit") (param i32) (result i32) i64.const 5 i32.const 5 local.get 0 call $emit i32.const 0)
  (func (export "owner_self") (param i32) (result i32) i64.const 0 call $owner)
  (func (export "self_id") (param i32) (result i32) call $self_id i32.const 32)
  (func (export "hash") (param i32) (result i32) i64.const 10 i32.const 4 local.get 0 call $hq)
  ;; input: [callee][function name]; calls it with no argument
  (func (export "call") (param $len i32) (result i32) (local $code i32)
    i64.const 1000 i64.const 65536 i64.const 64 memory.copy
    i64.const 1000 i64.const 1032 local.get $len i32.const 32 i32.sub i32.const 0 i64.const 0
    call $c local.set $code
    local.get $code i32.const 0 i32.lt_s if (result i32) local.get $code else i32.const 0 end
    drop local.get $code i32.const 0 i32.lt_s if (result i32) i32.const 0 else local.get $code end))
