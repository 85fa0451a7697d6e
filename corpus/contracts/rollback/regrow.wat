;; Growth undone twice over, then grown again.
;;
;; `drive` (input: the id of another instance) calls its
;; `reenter_then_fail`, which calls its own `grow_then_fail` and then fails,
;; and then its `grow_keep`, which grows memory by a page and writes 9 at
;; the start of the new page. `drive` returns both call codes.
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") 2 3)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "grow_then_fail")
  (data (i32.const 70016) "reenter_then_fail")
  (data (i32.const 70048) "grow_keep")

  (func (export "drive") (param $len i32) (result i32)
    (local $first i32)
    i32.const 80000 i32.const 0 i32.const 32 memory.copy
    i32.const 80000 i32.const 70016 i32.const 17 i32.const 0 i64.const 0 call $c
    local.set $first
    i32.const 4
    i32.const 80000 i32.const 70048 i32.const 9 i32.const 0 i64.const 0 call $c
    i32.store
    i32.const 0 local.get $first i32.store
    i32.const 8)

  (func (export "reenter_then_fail") (param $len i32) (result i32)
    call $self_id
    i32.const 80000 i32.const 0 i32.const 32 memory.copy
    i32.const 80000 i32.const 70000 i32.const 14 i32.const 0 i64.const 0 call $c
    drop
    unreachable)

  (func (export "grow_then_fail") (param $len i32) (result i32)
    i32.const 1 memory.grow drop
    i32.const 131072 i32.const 7 i32.store8
    unreachable)

  (func (export "grow_keep") (param $len i32) (result i32)
    i32.const 1 memory.grow drop
    i32.const 131072 i32.const 9 i32.store8
    i32.const 0)

  ;; [memory size in pages: u32][the first byte of page 2, or 0xff if none]
  (func (export "pages") (param $len i32) (result i32)
    i32.const 0 memory.size i32.store
    i32.const 4
    memory.size i32.const 2 i32.gt_u
    if (result i32) i32.const 131072 i32.load8_u else i32.const 0xff end
    i32.store8
    i32.const 5))
