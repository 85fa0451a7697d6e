;; wasmi 2.0.0 traps with "integer divide by zero" here; wasmtime and wasmi 1.1.0
;; compute 2 rem 1. Found by the native-fuel property test on a wasm-smith
;; contract and minimized by deleting instructions while the engines still
;; diverged. The VM pins wasmi 1.1.0; this file keeps the fix from regressing.


(module
  (memory (export "memory") 2 4)
  (global (export "A") i32 (i32.const 0))
  (func (export "g") (param i32) (result i32)
    (local f64 f32 i32 i32 i32 i32)
    memory.size
    i32.const 0
    local.set 3
    i32.const 1
    local.get 3
    local.get 3
    i32.eqz
    select
    local.set 3
    local.set 4
    block
      block
      end
    end
    local.get 4
    local.get 3
    i32.rem_s
    drop
    i32.const 0))