;; Takes every limit the VM enforces to its bound, one export per limit,
;; for the scenario oracle. The input's length picks where, modulo 4: one
;; below the bound, at it, one past it, at it again ($near), so that half
;; the calls sit exactly on the bound and a quarter just past it.
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "hq" (func $hq (param i32 i32 i32) (result i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (import "env" "feed" (func $feed (param i32)))
  (import "env" "panic" (func $panic (param i32)))
  (import "env" "hdebug" (func $hdebug (param i32)))
  (import "env" "self_id" (func $self_id))
  (type $unary (func (param i32) (result i32)))
  ;; No maximum: the VM's cap of 4,096 pages applies.
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  ;; The largest table admission takes; only its last entry is set.
  (table 65536 funcref)
  (elem (i32.const 65535) func $last)
  ;; Names: "echo" at 70000, "descend" at 70004, "topic" at 70011. The
  ;; contract's own id goes to 70100.
  (data (i32.const 70000) "echodescendtopic")

  ;; `bound - 1`, `bound`, `bound + 1` or `bound`, by `len % 4`.
  (func $near (param $len i32) (param $bound i32) (result i32)
    (local $sel i32)
    local.get $len
    i32.const 3
    i32.and
    local.set $sel
    local.get $bound
    i32.const 0
    i32.const -1
    local.get $sel
    select
    i32.add
    local.get $sel
    i32.const 2
    i32.eq
    i32.add)

  ;; Writes `value` as the 4-byte output.
  (func $out (param $value i32) (result i32)
    i32.const 0
    local.get $value
    i32.store
    i32.const 4)

  ;; Fills the argument buffer and one byte past it with `a`, so that what
  ;; an import reads from it is UTF-8.
  (func $fill
    i32.const 0
    i32.const 0x61
    i32.const 65537
    memory.fill)

  ;; Grows memory to 4,095, 4,096 or 4,097 pages; outputs what
  ;; `memory.grow` returned and the size after it.
  (func (export "grow") (param $len i32) (result i32)
    i32.const 0
    local.get $len
    i32.const 4096
    call $near
    memory.size
    i32.sub
    memory.grow
    i32.store
    i32.const 4
    memory.size
    i32.store
    i32.const 8)

  ;; Calls itself through `c` until 47, 48 or 49 frames are open (the VM
  ;; allows 48); outputs how many nested calls succeeded, or the error
  ;; code of the refused one.
  (func (export "depth") (param $len i32) (result i32)
    i32.const 0
    local.get $len
    i32.const 48
    call $near
    i32.const 1
    i32.sub
    i32.store
    call $descend)
  (func (export "descend") (param i32) (result i32)
    call $descend)
  ;; Opens `argbuf[0..4]` more frames below this one.
  (func $descend (result i32)
    (local $left i32)
    (local $ret i32)
    i32.const 0
    i32.load
    local.tee $left
    i32.eqz
    if
      i32.const 0
      call $out
      return
    end
    call $self_id
    i32.const 70100
    i32.const 0
    i32.const 32
    memory.copy
    i32.const 0
    local.get $left
    i32.const 1
    i32.sub
    i32.store
    i32.const 70100
    i32.const 70004
    i32.const 7
    i32.const 4
    i64.const 0
    call $c
    local.tee $ret
    i32.const 0
    i32.lt_s
    if (result i32)
      local.get $ret
    else
      i32.const 0
      i32.load
      i32.const 1
      i32.add
    end
    call $out)

  ;; Recurses 1,533, 1,534 or 1,535 frames deep: the logical stack holds
  ;; 1,534 frames of $recurse below this export's (found by bisection on
  ;; both engines; scenario `determinism/limits-at-their-bounds.toml` pins it).
  (func (export "stack") (param $len i32) (result i32)
    local.get $len
    i32.const 1534
    call $near
    call $recurse
    call $out)
  (func $recurse (param $n i32) (result i32)
    local.get $n
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get $n
      i32.const 1
      i32.sub
      call $recurse
      i32.const 1
      i32.add
    end)

  ;; Imports reading 65,535, 65,536 or 65,537 bytes of the argument buffer.
  (func (export "argbuf_c") (param $len i32) (result i32)
    call $self_id
    i32.const 70100
    i32.const 0
    i32.const 32
    memory.copy
    i32.const 70100
    i32.const 70000
    i32.const 4
    local.get $len
    i32.const 65536
    call $near
    i64.const 0
    call $c
    call $out)
  (func (export "echo") (param $len i32) (result i32)
    local.get $len)
  (func (export "argbuf_hq") (param $len i32) (result i32)
    i32.const 70000
    i32.const 4
    local.get $len
    i32.const 65536
    call $near
    call $hq
    call $out)
  (func (export "argbuf_emit") (param $len i32) (result i32)
    i32.const 70011
    i32.const 5
    local.get $len
    i32.const 65536
    call $near
    call $emit
    i32.const 0)
  (func (export "argbuf_feed") (param $len i32) (result i32)
    local.get $len
    i32.const 65536
    call $near
    call $feed
    i32.const 0)
  (func (export "argbuf_panic") (param $len i32) (result i32)
    call $fill
    local.get $len
    i32.const 65536
    call $near
    call $panic
    i32.const 0)
  (func (export "argbuf_debug") (param $len i32) (result i32)
    call $fill
    local.get $len
    i32.const 65536
    call $near
    call $hdebug
    i32.const 0)

  ;; Outputs 65,535, 65,536 or 65,537 bytes (the bound is 65,536).
  (func (export "output") (param $len i32) (result i32)
    local.get $len
    i32.const 65536
    call $near)

  ;; Calls table entry 65,534 (null), 65,535 (the last) or 65,536 (past
  ;; the end).
  (func (export "table") (param $len i32) (result i32)
    i32.const 7
    local.get $len
    i32.const 65535
    call $near
    call_indirect (type $unary)
    call $out)
  (func $last (type $unary)
    local.get 0
    i32.const 1
    i32.add)

  ;; NaNs from every kind of float instruction, on inputs whose bits come
  ;; from the argument (quiet NaNs with its payload included); outputs the
  ;; 12 results' bits, 64 bytes.
  (func (export "nan") (param $len i32) (result i32)
    (local $x f32)
    (local $p f32)
    (local $y f64)
    (local $q f64)
    i32.const 0
    f32.load
    local.set $x
    ;; A quiet NaN with the input's payload.
    i32.const 4
    i32.load
    i32.const 0x7fc00000
    i32.or
    f32.reinterpret_i32
    local.set $p
    i32.const 8
    f64.load
    local.set $y
    i32.const 16
    i64.load
    i64.const 0x7ff8000000000000
    i64.or
    f64.reinterpret_i64
    local.set $q
    ;; f32: 0/0, sqrt of a negative, inf - inf, payload through add, min,
    ;; max, and demotion of a NaN payload.
    i32.const 0
    f32.const 0
    f32.const 0
    f32.div
    f32.store
    i32.const 4
    local.get $x
    f32.abs
    f32.const 1
    f32.add
    f32.neg
    f32.sqrt
    f32.store
    i32.const 8
    f32.const inf
    local.get $x
    f32.abs
    f32.add
    f32.const inf
    f32.sub
    f32.store
    i32.const 12
    local.get $p
    local.get $x
    f32.add
    f32.store
    i32.const 16
    local.get $x
    local.get $p
    f32.min
    f32.store
    i32.const 20
    local.get $p
    local.get $x
    f32.max
    f32.store
    i32.const 24
    local.get $q
    f32.demote_f64
    f32.store
    i32.const 28
    local.get $p
    f32.const 2
    f32.mul
    f32.store
    ;; f64: the same, and promotion of an f32 NaN payload.
    i32.const 32
    f64.const 0
    f64.const 0
    f64.div
    f64.store
    i32.const 40
    local.get $y
    f64.abs
    f64.const 1
    f64.add
    f64.neg
    f64.sqrt
    f64.store
    i32.const 48
    local.get $q
    local.get $y
    f64.sub
    f64.store
    i32.const 56
    local.get $p
    f64.promote_f32
    f64.store
    i32.const 64))
