//! What an outcome keeps of a call's debug messages, fed data and events.
//!
//! All cost a contract little gas per byte, so a loop can produce
//! gigabytes of them at an ordinary gas limit (a zero-byte event or debug
//! message costs next to nothing). Every engine keeps the same bounded
//! prefix: items are kept in order while there are at most
//! [`RETAINED_ITEMS`] of them and their total stays within
//! [`RETAINED_BYTES`]; from the first item that does not fit, items are
//! counted and digested instead ([`Omitted`]), so two engines that agree on
//! the prefix still disagree if anything after it differs.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// Bytes of debug messages, and separately of fed data and of events
/// (topics and data), kept per call.
pub const RETAINED_BYTES: usize = 1 << 20;

/// Debug messages, and separately fed items, events and call-tree frames,
/// kept per call.
pub const RETAINED_ITEMS: usize = 1 << 16;

/// An item a [`Retainer`] keeps or digests.
pub trait RetainedItem {
    /// The bytes it counts against [`RETAINED_BYTES`].
    fn retained_len(&self) -> usize;
    /// Feeds it to the digest of omitted items.
    fn digest_into(&self, hasher: &mut blake3::Hasher);
}

/// The digest input of a byte string: its length (`u64`, little-endian),
/// then its bytes.
fn digest_bytes(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

impl RetainedItem for Vec<u8> {
    fn retained_len(&self) -> usize {
        self.len()
    }
    fn digest_into(&self, hasher: &mut blake3::Hasher) {
        digest_bytes(hasher, self);
    }
}

impl RetainedItem for String {
    fn retained_len(&self) -> usize {
        self.len()
    }
    fn digest_into(&self, hasher: &mut blake3::Hasher) {
        digest_bytes(hasher, self.as_bytes());
    }
}

/// The digest input of an event past the kept prefix: its source, topic
/// and data (each string with its length). Not whether it was reverted:
/// an engine may learn that only after the event has been digested.
pub fn digest_event(hasher: &mut blake3::Hasher, source: &[u8; 32], topic: &str, data: &[u8]) {
    hasher.update(source);
    digest_bytes(hasher, topic.as_bytes());
    digest_bytes(hasher, data);
}

/// The bytes an event counts against [`RETAINED_BYTES`].
pub fn event_len(topic: &str, data: &[u8]) -> usize {
    topic.len() + data.len()
}

impl RetainedItem for crate::Event {
    fn retained_len(&self) -> usize {
        event_len(&self.topic, self.data.as_slice())
    }
    fn digest_into(&self, hasher: &mut blake3::Hasher) {
        digest_event(hasher, &self.source.0, &self.topic, self.data.as_slice());
    }
}

/// The items past the kept prefix: how many, their total length, and
/// blake3 of their digest inputs in order ([`RetainedItem::digest_into`]:
/// for a message or fed item, its length as a little-endian `u64` and its
/// bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    pub items: u64,
    pub bytes: u64,
    pub digest: Bytes,
}

/// What a call's outcome left out of its debug messages, fed data and
/// events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omissions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<Omitted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<Omitted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Omitted>,
}

impl Omissions {
    pub fn is_empty(&self) -> bool {
        self.debug.is_none() && self.feed.is_none() && self.events.is_none()
    }
}

/// Collects items, keeping the prefix that fits [`RETAINED_ITEMS`] and
/// [`RETAINED_BYTES`].
#[derive(Clone, Debug)]
pub struct Retainer<T> {
    kept: Vec<T>,
    kept_bytes: usize,
    omitted: Option<(u64, u64, blake3::Hasher)>,
}

impl<T> Default for Retainer<T> {
    fn default() -> Self {
        Retainer {
            kept: Vec::new(),
            kept_bytes: 0,
            omitted: None,
        }
    }
}

impl<T> Retainer<T> {
    /// The items kept so far.
    pub fn kept(&self) -> &[T] {
        &self.kept
    }

    /// The items kept so far, to change in place (an engine flags events
    /// reverted after the fact).
    pub fn kept_mut(&mut self) -> &mut [T] {
        &mut self.kept
    }
}

impl<T: RetainedItem> Retainer<T> {
    /// Keeps `item` if it and everything kept before fit, else counts it.
    pub fn push(&mut self, item: T) {
        let len = item.retained_len();
        if self.omitted.is_none()
            && self.kept.len() < RETAINED_ITEMS
            && self.kept_bytes + len <= RETAINED_BYTES
        {
            self.kept_bytes += len;
            self.kept.push(item);
            return;
        }
        let (items, bytes, hasher) = self
            .omitted
            .get_or_insert_with(|| (0, 0, blake3::Hasher::new()));
        *items += 1;
        *bytes += len as u64;
        item.digest_into(hasher);
    }

    /// Everything collected, leaving the retainer empty.
    pub fn take(&mut self) -> (Vec<T>, Option<Omitted>) {
        let taken = std::mem::take(self);
        let omitted = taken.omitted.map(|(items, bytes, hasher)| Omitted {
            items,
            bytes,
            digest: Bytes(hasher.finalize().as_bytes().to_vec()),
        });
        (taken.kept, omitted)
    }
}

impl<T: RetainedItem> FromIterator<T> for Retainer<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut retainer = Retainer::default();
        for item in items {
            retainer.push(item);
        }
        retainer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_prefix_that_fits_and_digests_the_rest() {
        let half = vec![1u8; RETAINED_BYTES / 2];
        let mut retainer: Retainer<Vec<u8>> = [half.clone(), half.clone(), vec![2], half.clone()]
            .into_iter()
            .collect();
        assert_eq!(retainer.kept().len(), 2);
        let (kept, omitted) = retainer.take();
        assert_eq!(kept, vec![half.clone(), half.clone()]);
        let omitted = omitted.expect("two items did not fit");
        assert_eq!(
            (omitted.items, omitted.bytes),
            (2, 1 + RETAINED_BYTES as u64 / 2)
        );
        let mut hasher = blake3::Hasher::new();
        hasher.update(&1u64.to_le_bytes());
        hasher.update(&[2]);
        hasher.update(&(half.len() as u64).to_le_bytes());
        hasher.update(&half);
        assert_eq!(omitted.digest.0, hasher.finalize().as_bytes().to_vec());
        assert!(retainer.take().1.is_none(), "take leaves it empty");
    }

    #[test]
    fn an_item_that_would_fit_after_one_that_did_not_is_omitted_too() {
        let mut retainer = Retainer::default();
        retainer.push(vec![0u8; RETAINED_BYTES]);
        retainer.push(vec![0u8; 1]);
        retainer.push(Vec::new());
        let (kept, omitted) = retainer.take();
        assert_eq!(kept.len(), 1);
        assert_eq!(omitted.map(|o| (o.items, o.bytes)), Some((2, 1)));
    }

    #[test]
    fn empty_items_are_bounded_by_count() {
        let mut retainer: Retainer<String> =
            std::iter::repeat_n(String::new(), RETAINED_ITEMS + 3).collect();
        assert_eq!(retainer.kept().len(), RETAINED_ITEMS);
        let (kept, omitted) = retainer.take();
        assert_eq!(kept.len(), 65_536);
        let omitted = omitted.expect("three did not fit");
        assert_eq!((omitted.items, omitted.bytes), (3, 0));
        let mut hasher = blake3::Hasher::new();
        for _ in 0..3 {
            hasher.update(&0u64.to_le_bytes());
        }
        assert_eq!(omitted.digest.0, hasher.finalize().as_bytes().to_vec());
    }

    #[test]
    fn events_past_the_prefix_are_digested_without_their_reverted_flag() {
        let event = |reverted| crate::Event {
            source: crate::ContractId([7; 32]),
            topic: "t".into(),
            data: Bytes(vec![1, 2]),
            reverted,
        };
        let digest = |reverted| {
            let mut retainer: Retainer<crate::Event> =
                std::iter::repeat_n(event(false), RETAINED_ITEMS)
                    .chain([event(reverted)])
                    .collect();
            retainer.take().1.expect("one omitted")
        };
        assert_eq!(digest(true), digest(false));
        let omitted = digest(false);
        assert_eq!((omitted.items, omitted.bytes), (1, 3));
        let mut hasher = blake3::Hasher::new();
        hasher.update(&[7; 32]);
        hasher.update(&1u64.to_le_bytes());
        hasher.update(b"t");
        hasher.update(&2u64.to_le_bytes());
        hasher.update(&[1, 2]);
        assert_eq!(omitted.digest.0, hasher.finalize().as_bytes().to_vec());
    }

    #[test]
    fn exactly_the_bound_is_kept_whole() {
        let retainer: Retainer<String> = ["x".repeat(RETAINED_BYTES - 1), "y".into()]
            .into_iter()
            .collect();
        let mut retainer = retainer;
        let (kept, omitted) = retainer.take();
        assert_eq!(kept.len(), 2);
        assert!(omitted.is_none());
    }
}
