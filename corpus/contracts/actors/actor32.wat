;; A 32-bit test contract that calls other contracts on request.
;;
;; A request is [callee id: 32][gas: i64][name length: u32][name][argument];
;; `call` makes one and returns [code: i32][what the callee left in the
;; argument buffer: its output, or the panic encoding for code -1].
;; `pair` makes two (input [length of the first: u32][first][second]) and
;; returns [length of the first result: u32][first result][second result].
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "panic" (func $panic (param i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (import "env" "caller" (func $caller (result i32)))
  (import "env" "callstack" (func $callstack (result i32)))
  (import "env" "owner" (func $owner (param i32) (result i32)))
  (import "env" "self_id" (func $self_id))
  (import "env" "limit" (func $limit (result i64)))
  (import "env" "spent" (func $spent (result i64)))
  (memory (export "memory") 2 3)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "set")
  (data (i32.const 70016) "callee failed")
  (data (i32.const 70032) "ev")

  ;; Runs the request at $in (outside the argument buffer) of $len bytes;
  ;; leaves [code][result] in the argument buffer and returns its length.
  (func $request (param $in i32) (param $len i32) (result i32)
    (local $nl i32) (local $al i32) (local $code i32) (local $k i32)
    local.get $in i32.load offset=40 local.set $nl
    local.get $len i32.const 44 i32.sub local.get $nl i32.sub local.set $al
    i32.const 0
    local.get $in i32.const 44 i32.add local.get $nl i32.add
    local.get $al
    memory.copy
    local.get $in
    local.get $in i32.const 44 i32.add
    local.get $nl
    local.get $al
    local.get $in i64.load offset=32
    call $c local.set $code
    local.get $code i32.const 0 i32.ge_s
    if (result i32)
      local.get $code
    else
      local.get $code i32.const -1 i32.eq
      if (result i32) i32.const 0 i32.load i32.const 4 i32.add else i32.const 0 end
    end
    local.set $k
    i32.const 4 i32.const 0 local.get $k memory.copy
    i32.const 0 local.get $code i32.store
    local.get $k i32.const 4 i32.add)

  (func (export "call") (param $len i32) (result i32)
    i32.const 80000 i32.const 0 local.get $len memory.copy
    i32.const 80000 local.get $len call $request)

  (func (export "pair") (param $len i32) (result i32)
    (local $first i32) (local $k1 i32) (local $k2 i32)
    i32.const 80000 i32.const 0 local.get $len memory.copy
    i32.const 80000 i32.load local.set $first
    i32.const 80004 local.get $first call $request local.set $k1
    i32.const 100000 i32.const 0 local.get $k1 memory.copy
    i32.const 80004 local.get $first i32.add
    local.get $len i32.const 4 i32.sub local.get $first i32.sub
    call $request local.set $k2
    i32.const 4 local.get $k1 i32.add i32.const 0 local.get $k2 memory.copy
    i32.const 4 i32.const 100000 local.get $k1 memory.copy
    i32.const 0 local.get $k1 i32.store
    local.get $k1 local.get $k2 i32.add i32.const 4 i32.add)

  (func (export "set") (param $len i32) (result i32)
    i32.const 70500 i32.const 0 i32.load i32.store i32.const 0)
  (func (export "get") (param $len i32) (result i32)
    i32.const 0 i32.const 70500 i32.load i32.store i32.const 4)
  (func (export "echo") (param $len i32) (result i32) local.get $len)
  (func (export "out32") (param $len i32) (result i32)
    i32.const 0 i32.const 0x55 i32.const 32 memory.fill i32.const 32)
  (func (export "fail") (param $len i32) (result i32)
    i32.const 0 i32.const 70016 i32.const 13 memory.copy
    i32.const 13 call $panic unreachable)
  (func (export "spin") (param $len i32) (result i32) (loop $l br $l) i32.const 0)
  (func (export "trap") (param $len i32) (result i32) unreachable)
  (func (export "bad_output") (param $len i32) (result i32) i32.const 70000)
  (func (export "emit") (param $len i32) (result i32)
    i32.const 70032 i32.const 2 local.get $len call $emit i32.const 0)
  (func (export "emit_then_fail") (param $len i32) (result i32)
    i32.const 70032 i32.const 2 local.get $len call $emit
    i32.const 0 i32.const 70016 i32.const 13 memory.copy
    i32.const 13 call $panic unreachable)
  (func (export "grow_then_fail") (param $len i32) (result i32)
    i32.const 1 memory.grow drop
    i32.const 131072 i32.const 7 i32.store
    unreachable)
  (func (export "pages") (param $len i32) (result i32)
    i32.const 0 memory.size i32.store i32.const 4)
  ;; Sets the target's state (input: its id) to 09090909, then panics.
  (func (export "reenter_then_panic") (param $len i32) (result i32)
    i32.const 80000 i32.const 0 i32.const 32 memory.copy
    i32.const 0 i32.const 0x09090909 i32.store
    i32.const 80000 i32.const 70000 i32.const 3 i32.const 4 i64.const 0 call $c drop
    i32.const 0 i32.const 70016 i32.const 13 memory.copy
    i32.const 13 call $panic unreachable)
  (func (export "callers") (param $len i32) (result i32)
    (local $n i32)
    call $callstack local.set $n
    i32.const 4 i32.const 0 local.get $n i32.const 32 i32.mul memory.copy
    i32.const 0 local.get $n i32.store
    local.get $n i32.const 32 i32.mul i32.const 4 i32.add)
  (func (export "caller") (param $len i32) (result i32)
    call $caller drop i32.const 32)
  (func (export "gas") (param $len i32) (result i32)
    i32.const 0 call $limit i64.store
    i32.const 8 call $spent i64.store
    i32.const 16))
