;; The reference's measured gas cases: straight-line code overruns between
;; checks (limit 2 completes), every call entry and loop header is a check.
(module
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (func $empty)
  (func (export "straight") (param i32) (result i32)
    i32.const 7 i32.const 8 i32.add drop i32.const 0)
  (func (export "calls") (param i32) (result i32)
    call $empty call $empty call $empty call $empty call $empty
    call $empty call $empty call $empty call $empty call $empty
    i32.const 0)
  (func (export "loop") (param i32) (result i32) (local i32)
    i32.const 5 local.set 1
    (loop $l local.get 1 i32.const 1 i32.sub local.tee 1 br_if $l)
    i32.const 0))
