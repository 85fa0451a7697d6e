//! What a campaign's processes hold in memory, read from the system while
//! it runs (`campaign --stats-every`): our process's resident set and live
//! heap, and each production runner's resident set. The runners are found
//! as this process's children, so a spare process and one being replaced
//! are counted too.

use std::fmt;

use runner_protocol::wire::resident_bytes;
use serde::Serialize;

/// One reading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryReading {
    /// Our process's resident set, in bytes.
    pub ours_rss: u64,
    /// Bytes allocated and not freed by our allocator, in its arenas and
    /// mapped on their own (glibc's `mallinfo2`; 0 elsewhere).
    pub heap_in_use: u64,
    /// Each runner process (a child of ours): its pid and resident set.
    pub runners: Vec<(u32, u64)>,
}

impl MemoryReading {
    /// Reads it now.
    pub fn now() -> Self {
        let own = std::process::id();
        let mut runners: Vec<(u32, u64)> = children(own)
            .into_iter()
            .filter_map(|pid| resident_bytes(&pid.to_string()).map(|rss| (pid, rss)))
            .collect();
        runners.sort_unstable();
        MemoryReading {
            ours_rss: resident_bytes("self").unwrap_or(0),
            heap_in_use: heap_in_use(),
            runners,
        }
    }

    /// Our resident set and every runner's together.
    pub fn total_rss(&self) -> u64 {
        self.ours_rss + self.runners.iter().map(|(_, rss)| rss).sum::<u64>()
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

impl fmt::Display for MemoryReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory: ours {:.0} MiB resident, {:.0} MiB live heap; runners",
            mib(self.ours_rss),
            mib(self.heap_in_use)
        )?;
        if self.runners.is_empty() {
            write!(f, " none")?;
        }
        for (pid, rss) in &self.runners {
            write!(f, " {pid}: {:.0} MiB", mib(*rss))?;
        }
        write!(f, "; {:.0} MiB in all", mib(self.total_rss()))
    }
}

/// The pids whose parent is `parent`, from `/proc/<pid>/stat` (the field
/// after the parenthesized name, which may hold spaces, is the state, then
/// the parent's pid).
fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let after_name = &stat[stat.rfind(')')? + 1..];
                    after_name.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn heap_in_use() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let info = unsafe { libc::mallinfo2() };
        // Blocks in the arenas, and those mapped on their own.
        u64::try_from(info.uordblks.saturating_add(info.hblkhd)).unwrap_or(u64::MAX)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_process_is_read_as_a_runner() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep starts");
        let held = vec![1u8; 8 << 20];
        let reading = MemoryReading::now();
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            reading
                .runners
                .iter()
                .any(|(pid, rss)| *pid == child.id() && *rss > 0),
            "{reading:?}"
        );
        assert!(reading.ours_rss >= 8 << 20, "{reading:?}");
        // Other tests allocate and free beside this one: only what is held
        // here is certain to be in use.
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(reading.heap_in_use >= 8 << 20, "{reading:?}");
        }
        drop(held);
        assert!(reading.to_string().starts_with("memory: ours "));
    }
}
