;; Exercises the host imports one export at a time; the input is passed
;; through where an import reads the argument buffer.
(module
  (import "env" "hq" (func $hq (param i32 i32 i32) (result i32)))
  (import "env" "hd" (func $hd (param i32 i32) (result i32)))
  (import "env" "feed" (func $feed (param i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (import "env" "owner" (func $owner (param i32) (result i32)))
  (import "env" "self_id" (func $self_id))
  (import "env" "hdebug" (func $hdebug (param i32)))
  (import "env" "panic" (func $panic (param i32)))
  (import "env" "limit" (func $limit (result i64)))
  (import "env" "spent" (func $spent (result i64)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "hashechopricedpanicsnopechaintopic")
  ;; hq: the query name is given by (offset, length) into the table above
  (func (export "hq_hash") (param i32) (result i32) i32.const 70000 i32.const 4 local.get 0 call $hq)
  (func (export "hq_echo") (param i32) (result i32) i32.const 70004 i32.const 4 local.get 0 call $hq)
  (func (export "hq_priced") (param i32) (result i32) i32.const 70008 i32.const 6 local.get 0 call $hq)
  (func (export "hq_panics") (param i32) (result i32) i32.const 70014 i32.const 6 local.get 0 call $hq)
  (func (export "hq_missing") (param i32) (result i32) i32.const 70020 i32.const 4 local.get 0 call $hq)
  (func (export "hd_chain") (param i32) (result i32) i32.const 70024 i32.const 5 call $hd)
  (func (export "hd_oob") (param i32) (result i32) i32.const 131070 i32.const 5 call $hd)
  (func (export "feed") (param i32) (result i32) local.get 0 call $feed i32.const 0)
  (func (export "emit") (param i32) (result i32) i32.const 70029 i32.const 5 local.get 0 call $emit i32.const 0)
  (func (export "emit_bad_topic") (param i32) (result i32)
    i32.const 70030 i32.const 0xff i32.store8
    i32.const 70030 i32.const 1 local.get 0 call $emit i32.const 0)
  (func (export "owner_self") (param i32) (result i32) i32.const 0 call $owner)
  (func (export "owner_of") (param i32) (result i32)
    i32.const 80000 i32.const 0 i32.const 32 memory.copy
    i32.const 80000 call $owner)
  (func (export "self_id") (param i32) (result i32) call $self_id i32.const 32)
  (func (export "debug") (param i32) (result i32) local.get 0 call $hdebug i32.const 0)
  (func (export "panic") (param i32) (result i32) local.get 0 call $panic i32.const 0)
  (func (export "panic_too_long") (param i32) (result i32) i32.const 65537 call $panic i32.const 0)
  (func (export "echo") (param i32) (result i32) local.get 0)
  (func (export "too_long") (param i32) (result i32) i32.const 65537)
  (func (export "limit_spent") (param i32) (result i32)
    i32.const 0 call $limit i64.store
    i32.const 8 call $spent i64.store
    i32.const 16))
