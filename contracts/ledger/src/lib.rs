//! State that grows in collections across many calls: balances in a
//! `BTreeMap`, a history of records in a `Vec`, both read back in order.
#![no_std]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use contract_types::{Record, Transfer};
use piecrust_uplink::wrap_call;

struct Ledger {
    balances: BTreeMap<String, u64>,
    history: Vec<Record>,
}

static mut LEDGER: Ledger = Ledger {
    balances: BTreeMap::new(),
    history: Vec::new(),
};

// Edition 2024 refuses `&mut STATIC`; a reference made from the raw
// pointer is its way (clippy would shorten it back).
#[allow(clippy::deref_addrof)]
fn ledger() -> &'static mut Ledger {
    // SAFETY: a contract runs single-threaded; no reference outlives a call.
    unsafe { &mut *(&raw mut LEDGER) }
}

impl Ledger {
    fn record(&mut self, name: String, tags: Vec<u32>) {
        let id = self.history.len() as u64;
        let parent = id.checked_sub(1);
        self.history.push(Record {
            id,
            name,
            tags,
            active: true,
            parent,
        });
    }
}

/// Credits `amount` to `account`; returns its new balance.
#[unsafe(no_mangle)]
extern "C" fn mint(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(account, amount): (String, u64)| {
        let ledger = ledger();
        let balance = ledger.balances.entry(account.clone()).or_insert(0);
        *balance += amount;
        let balance = *balance;
        ledger.record(format!("mint {amount} to {account}"), Vec::new());
        balance
    })
}

/// Moves funds; `Err` (and no change) if the sender has too little.
#[unsafe(no_mangle)]
extern "C" fn transfer(arg_len: u32) -> u32 {
    wrap_call(arg_len, |t: Transfer| -> Result<(), String> {
        let ledger = ledger();
        let from = ledger.balances.get(&t.from).copied().unwrap_or(0);
        if from < t.amount {
            return Err(format!("{} has {from}, not {}", t.from, t.amount));
        }
        ledger.balances.insert(t.from.clone(), from - t.amount);
        *ledger.balances.entry(t.to.clone()).or_insert(0) += t.amount;
        ledger.record(format!("{} -> {}: {}", t.from, t.to, t.amount), Vec::new());
        Ok(())
    })
}

/// The balance of one account (0 if unknown).
#[unsafe(no_mangle)]
extern "C" fn balance(arg_len: u32) -> u32 {
    wrap_call(arg_len, |account: String| {
        ledger().balances.get(&account).copied().unwrap_or(0)
    })
}

/// Every account and balance, in key order.
#[unsafe(no_mangle)]
extern "C" fn balances(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| {
        ledger()
            .balances
            .iter()
            .map(|(account, amount)| (account.clone(), *amount))
            .collect::<Vec<(String, u64)>>()
    })
}

/// Appends `count` records tagged with their index; returns the history's
/// length.
#[unsafe(no_mangle)]
extern "C" fn fill(arg_len: u32) -> u32 {
    wrap_call(arg_len, |count: u32| {
        let ledger = ledger();
        for index in 0..count {
            ledger.record(format!("entry {index}"), alloc::vec![index, index * 2]);
        }
        ledger.history.len() as u64
    })
}

/// `count` records of the history from `start`.
#[unsafe(no_mangle)]
extern "C" fn history(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(start, count): (u32, u32)| {
        ledger()
            .history
            .iter()
            .skip(start as usize)
            .take(count as usize)
            .cloned()
            .collect::<Vec<Record>>()
    })
}

/// Removes an account; its balance, if it had one.
#[unsafe(no_mangle)]
extern "C" fn close(arg_len: u32) -> u32 {
    wrap_call(arg_len, |account: String| {
        ledger().balances.remove(&account)
    })
}
