;; A 64-bit contract with its argument buffer in the second page.
(module
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") i64 3)
  (global (export "A") i64 (i64.const 65536))
  (func (export "echo") (param i32) (result i32) local.get 0)
  (func (export "self") (param i32) (result i32) call $self_id i32.const 0))
