;; A store spilling into the next 4 KiB page, undone with its caller.
;;
;; `outer` stores 8 bytes at 4092 (4 of them in the page at 4096), calls its
;; own `inner` and fails. `inner` fills the first 4,100 bytes (both pages)
;; and calls `noop` with them as argument, then succeeds. `read` returns
;; the 8 bytes at 4092.
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") 2 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "inner")
  (data (i32.const 70008) "noop")

  (func (export "outer") (param $len i32) (result i32)
    i32.const 4092 i64.const 0x1111111111111111 i64.store
    call $self_id
    i32.const 80000 i32.const 0 i32.const 32 memory.copy
    i32.const 80000 i32.const 70000 i32.const 5 i32.const 0 i64.const 0 call $c
    drop
    unreachable)

  (func (export "inner") (param $len i32) (result i32)
    call $self_id
    i32.const 80000 i32.const 0 i32.const 32 memory.copy
    i32.const 0 i32.const 0x22 i32.const 4100 memory.fill
    i32.const 80000 i32.const 70008 i32.const 4 i32.const 4100 i64.const 0 call $c
    drop
    i32.const 0)

  (func (export "noop") (param $len i32) (result i32) i32.const 0)

  (func (export "read") (param $len i32) (result i32)
    i32.const 0 i32.const 4092 i64.load i64.store
    i32.const 8))
