;; A counter: state in memory persists across calls, a failed call leaves no
;; trace, and gas is exact.
(module
  (import "env" "panic" (func $panic (param i32)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 65536) "counter is broken")
  (func $add (param $by i64)
    i32.const 70000
    i32.const 70000 i64.load
    local.get $by i64.add
    i64.store)
  (func $value (result i32)
    i32.const 0 i32.const 70000 i64.load i64.store
    i32.const 8)
  (func (export "init") (param i32) (result i32) i32.const 0)
  (func (export "read") (param i32) (result i32) call $value)
  (func (export "increment") (param i32) (result i32)
    i32.const 0 i64.load32_u call $add
    call $value)
  (func (export "increment_then_panic") (param i32) (result i32)
    i32.const 0 i64.load32_u call $add
    i32.const 0 i32.const 65536 i32.const 17 memory.copy
    i32.const 17 call $panic
    unreachable))
