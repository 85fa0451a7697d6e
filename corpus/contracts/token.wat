;; A token ledger: 32-byte accounts with u64 balances, transfers that fail
;; on insufficient balance, and a transfer event.
;; init:     [account][amount: u64]        mints to the account
;; balance:  [account]                     -> amount (u64)
;; transfer: [from][to][amount: u64]       -> new balance of `from`
;; supply:   -                             -> total supply (u64)
(module
  (import "env" "panic" (func $panic (param i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (memory (export "memory") 3)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "insufficient balance")
  (data (i32.const 70032) "transfer")
  ;; accounts at 80000: count (u32) then entries of [account 32][balance 8]
  (func $slot (param $account i32) (result i32)
    (local $i i32) (local $count i32) (local $entry i32)
    i32.const 80000 i32.load local.set $count
    (block $done
      (loop $scan
        local.get $i local.get $count i32.ge_u br_if $done
        i32.const 80004 local.get $i i32.const 40 i32.mul i32.add local.set $entry
        ;; compare 32 bytes as four i64s
        local.get $entry i64.load local.get $account i64.load i64.eq
        local.get $entry i64.load offset=8 local.get $account i64.load offset=8 i64.eq i32.and
        local.get $entry i64.load offset=16 local.get $account i64.load offset=16 i64.eq i32.and
        local.get $entry i64.load offset=24 local.get $account i64.load offset=24 i64.eq i32.and
        if local.get $entry return end
        local.get $i i32.const 1 i32.add local.set $i
        br $scan))
    ;; a new, empty account
    i32.const 80004 local.get $count i32.const 40 i32.mul i32.add local.set $entry
    local.get $entry local.get $account i32.const 32 memory.copy
    local.get $entry i64.const 0 i64.store offset=32
    i32.const 80000 local.get $count i32.const 1 i32.add i32.store
    local.get $entry)
  (func (export "init") (param i32) (result i32)
    i32.const 90000 i32.const 0 i32.const 40 memory.copy
    i32.const 90000 call $slot i32.const 90032 i64.load i64.store offset=32
    i32.const 0)
  (func (export "balance") (param i32) (result i32)
    i32.const 90000 i32.const 0 i32.const 32 memory.copy
    i32.const 0 i32.const 90000 call $slot i64.load offset=32 i64.store
    i32.const 8)
  (func (export "transfer") (param $len i32) (result i32)
    (local $from i32) (local $to i32) (local $amount i64)
    i32.const 90000 i32.const 0 i32.const 72 memory.copy
    i32.const 90064 i64.load local.set $amount
    i32.const 90000 call $slot local.set $from
    local.get $from i64.load offset=32 local.get $amount i64.lt_u
    if
      i32.const 0 i32.const 70000 i32.const 20 memory.copy
      i32.const 20 call $panic
    end
    i32.const 90032 call $slot local.set $to
    local.get $from local.get $from i64.load offset=32 local.get $amount i64.sub i64.store offset=32
    local.get $to local.get $to i64.load offset=32 local.get $amount i64.add i64.store offset=32
    i32.const 0 i32.const 90000 i32.const 72 memory.copy
    i32.const 70032 i32.const 8 i32.const 72 call $emit
    i32.const 0 local.get $from i64.load offset=32 i64.store
    i32.const 8)
  (func (export "supply") (param i32) (result i32)
    (local $i i32) (local $sum i64)
    (block $done
      (loop $scan
        local.get $i i32.const 80000 i32.load i32.ge_u br_if $done
        local.get $sum
        i32.const 80004 local.get $i i32.const 40 i32.mul i32.add i64.load offset=32
        i64.add local.set $sum
        local.get $i i32.const 1 i32.add local.set $i
        br $scan))
    i32.const 0 local.get $sum i64.store
    i32.const 8))
