;; A registry of contracts by name that forwards calls to them.
;; register: [name length: u32][name][id]
;; lookup:   [name]                                   -> id, or nothing
;; forward:  [name length: u32][name][function length: u32][function][argument]
;;           -> [code: i32][the callee's output]
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "panic" (func $panic (param i32)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "unknown name")
  ;; entries at 80000: count (u32) then [name length u32][name 28 bytes max][id 32]
  (func $find (param $name i32) (param $len i32) (result i32)
    (local $i i32) (local $entry i32)
    (block $done
      (loop $scan
        local.get $i i32.const 80000 i32.load i32.ge_u br_if $done
        i32.const 80004 local.get $i i32.const 64 i32.mul i32.add local.set $entry
        local.get $entry i32.load local.get $len i32.eq
        if
          ;; names are compared byte by byte
          (block $differ
            (loop $byte
              local.get $len i32.eqz if local.get $entry return end
              local.get $len i32.const 1 i32.sub local.set $len
              local.get $entry i32.const 4 i32.add local.get $len i32.add i32.load8_u
              local.get $name local.get $len i32.add i32.load8_u
              i32.ne br_if $differ
              br $byte))
          local.get $entry i32.load local.set $len
        end
        local.get $i i32.const 1 i32.add local.set $i
        br $scan))
    i32.const 0)
  (func (export "register") (param $len i32) (result i32)
    (local $entry i32) (local $nl i32)
    i32.const 0 i32.load local.set $nl
    i32.const 80004 i32.const 80000 i32.load i32.const 64 i32.mul i32.add local.set $entry
    local.get $entry local.get $nl i32.store
    local.get $entry i32.const 4 i32.add i32.const 4 local.get $nl memory.copy
    local.get $entry i32.const 32 i32.add i32.const 4 local.get $nl i32.add i32.const 32 memory.copy
    i32.const 80000 i32.const 80000 i32.load i32.const 1 i32.add i32.store
    i32.const 0)
  (func (export "lookup") (param $len i32) (result i32)
    (local $entry i32)
    i32.const 90000 i32.const 0 local.get $len memory.copy
    i32.const 90000 local.get $len call $find local.tee $entry
    i32.eqz if i32.const 0 return end
    i32.const 0 local.get $entry i32.const 32 i32.add i32.const 32 memory.copy
    i32.const 32)
  (func (export "forward") (param $len i32) (result i32)
    (local $nl i32) (local $fl i32) (local $entry i32) (local $code i32) (local $al i32)
    i32.const 90000 i32.const 0 local.get $len memory.copy
    i32.const 90000 i32.load local.set $nl
    i32.const 90004 local.get $nl call $find local.tee $entry
    i32.eqz if
      i32.const 0 i32.const 70000 i32.const 12 memory.copy
      i32.const 12 call $panic
    end
    i32.const 90004 local.get $nl i32.add i32.load local.set $fl
    local.get $len i32.const 8 i32.sub local.get $nl i32.sub local.get $fl i32.sub local.set $al
    i32.const 0 i32.const 90008 local.get $nl i32.add local.get $fl i32.add local.get $al memory.copy
    local.get $entry i32.const 32 i32.add
    i32.const 90008 local.get $nl i32.add
    local.get $fl local.get $al i64.const 0
    call $c local.set $code
    local.get $code i32.const 0 i32.lt_s
    if (result i32) i32.const 0 else local.get $code end
    local.set $al
    i32.const 4 i32.const 0 local.get $al memory.copy
    i32.const 0 local.get $code i32.store
    local.get $al i32.const 4 i32.add))
