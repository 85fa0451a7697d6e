;; Host pointer ranges at the end of memory, one export per import that
;; reads a range the contract names: the input is [ptr: u32][len: u32]
;; (`owner_at` and `c_callee_at` read 32 bytes and take only ptr), and the
;; import is called with that range as it is.
;;
;; Memory is two pages (131,072 bytes) and never grows. Its last 32 bytes
;; hold 28 bytes 0x02 and "echo": read as an id it is the id scenarios
;; deploy this contract under, and its last four bytes name a host query,
;; a host data entry, an export and an event topic, so a range that ends
;; exactly at the end of memory succeeds through every import.
;;
;; Outputs: the import's i32 result as 4 bytes (`emit_at`: nothing).
;;
;; Lengths at their bounds too: `length` returns the u32 at the start of
;; its input as its output length, `panic_n` panics with a message of n
;; bytes 'a', and `c_panic` ([n: u32][callee id]) has another contract's
;; `panic_n` panic with n bytes and returns [c's code][the length field of
;; the panic encoding c left in the argument buffer].
(module
  (import "env" "owner" (func $owner (param i32) (result i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (import "env" "hd" (func $hd (param i32 i32) (result i32)))
  (import "env" "hq" (func $hq (param i32 i32 i32) (result i32)))
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "panic" (func $panic (param i32)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "echo")
  (data (i32.const 70010) "panic_n")
  (data (i32.const 131040)
    "\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02"
    "echo")

  (func $ptr (result i32) i32.const 0 i32.load)
  (func $len (result i32) i32.const 4 i32.load)
  (func $result (param i32) (result i32)
    i32.const 0 local.get 0 i32.store i32.const 4)

  (func (export "echo") (param $len i32) (result i32) local.get $len)
  (func (export "length") (param i32) (result i32) call $ptr)
  (func (export "panic_n") (param i32) (result i32)
    (local $n i32)
    call $ptr local.set $n
    i32.const 0 i32.const 0x61 local.get $n memory.fill
    local.get $n call $panic
    unreachable)
  (func (export "c_panic") (param i32) (result i32)
    (local $code i32)
    i32.const 70100 i32.const 4 i32.const 32 memory.copy
    i32.const 70100 i32.const 70010 i32.const 7 i32.const 4 i64.const 0 call $c
    local.set $code
    i32.const 4 i32.const 0 i32.load i32.store
    i32.const 0 local.get $code i32.store
    i32.const 8)

  (func (export "owner_at") (param i32) (result i32)
    call $ptr call $owner call $result)
  (func (export "emit_at") (param i32) (result i32)
    call $ptr call $len i32.const 0 call $emit i32.const 0)
  (func (export "hd_at") (param i32) (result i32)
    call $ptr call $len call $hd call $result)
  (func (export "hq_at") (param i32) (result i32)
    call $ptr call $len i32.const 0 call $hq call $result)
  ;; Calls `echo` (named at 70000) on the id at ptr, with no argument.
  (func (export "c_callee_at") (param i32) (result i32)
    call $ptr i32.const 70000 i32.const 4 i32.const 0 i64.const 0 call $c
    call $result)
  ;; Calls the function named by the range on this contract itself (its id
  ;; is at 131040).
  (func (export "c_name_at") (param i32) (result i32)
    i32.const 131040 call $ptr call $len i32.const 0 i64.const 0 call $c
    call $result))
