;; `down(n)` calls itself through `c` until n is 1 and returns the depth it
;; reached, or the first negative code a nested call returned.
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (import "env" "callstack" (func $callstack (result i32)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70100) "down")
  (func (export "down") (param $len i32) (result i32)
    (local $n i32) (local $code i32) (local $result i32)
    i32.const 0 i32.load local.set $n
    local.get $n i32.const 1 i32.le_u
    if
      ;; the leaf reports how many callers it has, plus itself
      i32.const 0 call $callstack i32.const 1 i32.add i32.store
      i32.const 4 return
    end
    call $self_id
    i32.const 70000 i32.const 0 i32.const 32 memory.copy
    i32.const 0 local.get $n i32.const 1 i32.sub i32.store
    i32.const 70000 i32.const 70100 i32.const 4 i32.const 4 i64.const 0
    call $c local.set $code
    local.get $code i32.const 0 i32.lt_s
    if (result i32)
      local.get $code
    else
      i32.const 0 i32.load
    end
    local.set $result
    i32.const 0 local.get $result i32.store
    i32.const 4))
