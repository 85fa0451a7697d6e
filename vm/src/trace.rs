//! Call traces: the tree of frames a call made, with what each was given,
//! spent and returned, and the events it emitted. Serializable and stable,
//! so two engines' traces compare field by field and snapshot as text.

use runner_protocol::{Omitted, RETAINED_ITEMS, RetainedItem, Retainer};
use serde::{Deserialize, Serialize};

use crate::abi::ContractId;
use crate::abi::Event;
use crate::failure::CallError;

/// How a frame ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameOutcome {
    /// The frame returned this output.
    Output(TracedBytes),
    /// The frame failed; `code` is what its caller saw (absent at top level).
    Failed {
        #[serde(skip_serializing_if = "Option::is_none")]
        /// The code its caller saw, for a nested frame.
        code: Option<i32>,
        /// Why it failed.
        error: CallError,
    },
}

/// One frame of a call tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTree {
    /// The contract whose export ran.
    pub contract: ContractId,
    /// The export.
    pub function: String,
    /// The input.
    pub arg: TracedBytes,
    /// The frame's gas limit.
    pub gas_limit: u64,
    /// Gas the frame spent (its own and its callees').
    pub gas_spent: u64,
    /// How it ended.
    pub outcome: FrameOutcome,
    /// Events emitted by this frame itself, in order (those the receipt
    /// kept: see [`runner_protocol::retained`]).
    pub events: Vec<EventRecord>,
    /// The frames it called, in order.
    pub children: Vec<CallTree>,
    /// At the root of a call that entered more than [`TRACED_FRAMES`]
    /// frames: the frames past them, counted and digested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted_frames: Option<Omitted>,
}

/// Frames a call tree keeps per call, in pre-order. A loop of cheap refused
/// calls enters hundreds of thousands of frames at an ordinary gas limit;
/// those past the bound are counted and digested (blake3 of each one's
/// JSON, its events and children left out, in the order they end).
pub const TRACED_FRAMES: usize = RETAINED_ITEMS;

/// An event as it appears in a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    #[serde(flatten)]
    /// The event.
    pub event: Event,
    /// Whether a failed frame it belongs to was rolled back.
    pub reverted: bool,
    /// The frame that emitted it: its position in a pre-order walk of the
    /// call tree, the top-level frame being 0.
    pub frame: usize,
}

/// The bytes a call tree keeps of a frame's argument or output: all of
/// them up to [`SHOWN_BYTES`], else the first [`SHOWN_BYTES`], the length
/// and blake3 of the whole. A loop of refused calls with 64 KiB arguments
/// (each costs little gas) then keeps little per frame, while two
/// different values still compare different.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TracedBytes {
    /// A value of at most [`SHOWN_BYTES`] bytes, whole.
    Whole(#[serde(with = "crate::abi::hex_vec")] Vec<u8>),
    /// A longer value: its head, its length and its digest.
    Cut {
        #[serde(with = "crate::abi::hex_vec")]
        /// The first [`SHOWN_BYTES`] bytes.
        head: Vec<u8>,
        /// The length of the whole value.
        len: u64,
        #[serde(with = "crate::abi::hex_vec")]
        /// The blake3 hash of the whole value.
        blake3: Vec<u8>,
    },
}

pub use runner_protocol::bytes::SHOWN_BYTES;

impl TracedBytes {
    /// What a call tree keeps of `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= SHOWN_BYTES {
            TracedBytes::Whole(bytes.to_vec())
        } else {
            TracedBytes::Cut {
                head: bytes[..SHOWN_BYTES].to_vec(),
                len: bytes.len() as u64,
                blake3: blake3::hash(bytes).as_bytes().to_vec(),
            }
        }
    }

    /// The length of the whole value.
    pub fn len(&self) -> u64 {
        match self {
            TracedBytes::Whole(bytes) => bytes.len() as u64,
            TracedBytes::Cut { len, .. } => *len,
        }
    }

    /// Whether the whole value is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value, if it was short enough to keep whole.
    pub fn whole(&self) -> Option<&[u8]> {
        match self {
            TracedBytes::Whole(bytes) => Some(bytes),
            TracedBytes::Cut { .. } => None,
        }
    }
}

impl From<Vec<u8>> for TracedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        TracedBytes::new(&bytes)
    }
}

/// As [`short_hex`] shows the whole value.
impl std::fmt::Display for TracedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TracedBytes::Whole(bytes) => f.write_str(&short_hex(bytes)),
            TracedBytes::Cut { head, len, blake3 } => write!(
                f,
                "0x{}.. ({len} bytes, blake3 {})",
                hex::encode(head),
                &hex::encode(blake3)[..16]
            ),
        }
    }
}

impl std::fmt::Debug for TracedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

pub use runner_protocol::bytes::short_hex;

impl RetainedItem for EventRecord {
    fn retained_len(&self) -> usize {
        runner_protocol::event_len(&self.event.topic, &self.event.data)
    }
    fn digest_into(&self, hasher: &mut blake3::Hasher) {
        runner_protocol::digest_event(
            hasher,
            &self.event.source.0,
            &self.event.topic,
            &self.event.data,
        );
    }
}

impl CallTree {
    /// The tree as indented text, one frame per line.
    pub fn render(&self) -> String {
        let mut text = String::new();
        self.render_into(&mut text, 0);
        if let Some(omitted) = &self.omitted_frames {
            text.push_str(&format!(
                "... {} more frames, blake3 {}\n",
                omitted.items,
                &hex::encode(omitted.digest.as_slice())[..16]
            ));
        }
        text
    }

    fn render_into(&self, text: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        let outcome = match &self.outcome {
            FrameOutcome::Output(bytes) => format!("ok {bytes}"),
            FrameOutcome::Failed {
                code: Some(code),
                error,
            } => format!("failed ({code}): {error}"),
            FrameOutcome::Failed { code: None, error } => format!("failed: {error}"),
        };
        let contract = self.contract.to_string();
        text.push_str(&format!(
            "{indent}{}..{} {}({}) gas {}/{} -> {outcome}\n",
            &contract[..8],
            &contract[56..],
            self.function,
            self.arg,
            self.gas_spent,
            self.gas_limit,
        ));
        for record in &self.events {
            let reverted = if record.reverted { " (reverted)" } else { "" };
            text.push_str(&format!(
                "{indent}  event {:?} {}{reverted}\n",
                record.event.topic,
                short_hex(&record.event.data)
            ));
        }
        for child in &self.children {
            child.render_into(text, depth + 1);
        }
    }
}

/// Builds the call tree while a call runs, keeping at most
/// [`TRACED_FRAMES`] frames and the events [`Retainer`] keeps.
#[derive(Debug, Default)]
pub struct TraceBuilder {
    /// The traced frames, by pre-order index.
    nodes: Vec<Node>,
    /// The frames running, outermost first.
    open: Vec<Open>,
    /// Frames entered so far: the pre-order index of the next one.
    entered: usize,
    /// Frames past [`TRACED_FRAMES`] that ended: how many, and their
    /// digest.
    untraced: Option<(u64, blake3::Hasher)>,
    /// The events of the call, in emission order.
    events: Retainer<EventRecord>,
}

#[derive(Debug)]
struct Node {
    tree: CallTree,
    children: Vec<usize>,
}

/// A running frame: traced (its node's index), or past the bound (its
/// index and what the digest will take of it).
#[derive(Debug)]
enum Open {
    Traced(usize),
    Untraced(usize, Box<CallTree>),
}

impl Open {
    fn index(&self) -> usize {
        match self {
            Open::Traced(index) | Open::Untraced(index, _) => *index,
        }
    }
}

impl TraceBuilder {
    /// Opens a frame; returns its pre-order index.
    pub fn enter(
        &mut self,
        contract: ContractId,
        function: &str,
        arg: &[u8],
        gas_limit: u64,
    ) -> usize {
        let index = self.entered;
        self.entered += 1;
        let tree = CallTree {
            contract,
            // Bounded as outcomes bound names: a loop of refused calls may
            // name 64 KiB functions.
            function: runner_protocol::bounded_text(function.to_string()),
            arg: TracedBytes::new(arg),
            gas_limit,
            gas_spent: 0,
            outcome: FrameOutcome::Output(TracedBytes::new(&[])),
            events: Vec::new(),
            children: Vec::new(),
            omitted_frames: None,
        };
        if index >= TRACED_FRAMES {
            self.open.push(Open::Untraced(index, Box::new(tree)));
            return index;
        }
        if let Some(Open::Traced(parent)) = self.open.last() {
            self.nodes[*parent].children.push(index);
        }
        self.nodes.push(Node {
            tree,
            children: Vec::new(),
        });
        self.open.push(Open::Traced(index));
        index
    }

    /// The events of the call so far that it keeps, in emission order.
    pub fn events(&self) -> &[EventRecord] {
        self.events.kept()
    }

    /// The argument of every traced frame the call has entered so far, in
    /// pre-order.
    pub fn args(&self) -> impl Iterator<Item = &TracedBytes> {
        self.nodes.iter().map(|node| &node.tree.arg)
    }

    /// Records an event of the running frame.
    pub fn event(&mut self, event: Event) {
        if let Some(frame) = self.open.last().map(Open::index) {
            self.events.push(EventRecord {
                event,
                reverted: false,
                frame,
            });
        }
    }

    /// Closes the running frame.
    pub fn exit(&mut self, gas_spent: u64, outcome: FrameOutcome) {
        let Some(open) = self.open.pop() else {
            return;
        };
        if matches!(outcome, FrameOutcome::Failed { .. }) {
            self.revert_from(open.index());
        }
        match open {
            Open::Traced(frame) => {
                let tree = &mut self.nodes[frame].tree;
                tree.gas_spent = gas_spent;
                tree.outcome = outcome;
            }
            Open::Untraced(_, mut tree) => {
                tree.gas_spent = gas_spent;
                tree.outcome = outcome;
                let (count, hasher) = self
                    .untraced
                    .get_or_insert_with(|| (0, blake3::Hasher::new()));
                *count += 1;
                // A CallTree always serializes; the hasher's writes
                // cannot fail.
                let _ = serde_json::to_writer(hasher, &tree);
            }
        }
    }

    /// Flags every kept event of frame `frame` and its descendants as
    /// reverted. `frame` is the innermost running frame, so those are
    /// exactly the events since it was entered: the kept events at the end
    /// whose frame index is `frame` or more.
    fn revert_from(&mut self, frame: usize) {
        for record in self.events.kept_mut().iter_mut().rev() {
            if record.frame < frame {
                break;
            }
            record.reverted = true;
        }
    }

    /// The finished tree, the events the call kept in emission order, and
    /// what it did not keep of them, leaving the builder empty. Each frame
    /// of the tree lists its own kept events.
    pub fn finish(&mut self) -> (Option<CallTree>, Vec<EventRecord>, Option<Omitted>) {
        let taken = std::mem::take(self);
        let mut nodes = taken.nodes;
        let mut retainer = taken.events;
        let (events, omitted_events) = retainer.take();
        for record in &events {
            if let Some(node) = nodes.get_mut(record.frame) {
                node.tree.events.push(record.clone());
            }
        }
        let mut trees: Vec<Option<CallTree>> = Vec::with_capacity(nodes.len());
        let mut children: Vec<Vec<usize>> = Vec::with_capacity(nodes.len());
        for node in nodes {
            trees.push(Some(node.tree));
            children.push(node.children);
        }
        // Children always come after their parent: assemble from the end.
        for index in (0..trees.len()).rev() {
            let mut kids = Vec::with_capacity(children[index].len());
            for &child in &children[index] {
                if let Some(tree) = trees[child].take() {
                    kids.push(tree);
                }
            }
            if let Some(tree) = trees[index].as_mut() {
                tree.children = kids;
            }
        }
        let mut root = trees.into_iter().next().flatten();
        if let (Some(root), Some((items, hasher))) = (root.as_mut(), taken.untraced) {
            root.omitted_frames = Some(Omitted {
                items,
                bytes: 0,
                digest: runner_protocol::Bytes(hasher.finalize().as_bytes().to_vec()),
            });
        }
        (root, events, omitted_events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, outcome: FrameOutcome, children: Vec<CallTree>) -> CallTree {
        CallTree {
            contract: ContractId([0xab; 32]),
            function: function.into(),
            arg: TracedBytes::new(&[1, 2]),
            gas_limit: 1_000,
            gas_spent: 40,
            outcome,
            events: Vec::new(),
            children,
            omitted_frames: None,
        }
    }

    #[test]
    fn a_tree_renders_one_frame_per_line_with_its_events() {
        let mut child = frame(
            "g",
            FrameOutcome::Failed {
                code: Some(-2),
                error: CallError::OutOfGas,
            },
            Vec::new(),
        );
        child.gas_spent = 7;
        let mut root = frame(
            "f",
            FrameOutcome::Output(TracedBytes::new(&[9])),
            vec![child],
        );
        root.events.push(EventRecord {
            event: Event {
                source: ContractId([0xab; 32]),
                topic: "t".into(),
                data: vec![0xcd],
            },
            reverted: true,
            frame: 0,
        });
        assert_eq!(
            root.render(),
            "abababab..abababab f(0x0102) gas 40/1000 -> ok 0x09\n\
             \x20 event \"t\" 0xcd (reverted)\n\
             \x20 abababab..abababab g(0x0102) gas 7/1000 -> failed (-2): out of gas\n"
        );
    }

    #[test]
    fn long_values_keep_their_head_length_and_digest() {
        let long = vec![7u8; SHOWN_BYTES + 1];
        let traced = TracedBytes::new(&long);
        assert_eq!(traced.len(), SHOWN_BYTES as u64 + 1);
        assert!(!traced.is_empty());
        assert_eq!(traced.whole(), None);
        assert!(TracedBytes::new(&[]).is_empty());
        assert!(!TracedBytes::new(&[0]).is_empty());
        assert_eq!(format!("{:?}", TracedBytes::new(&[0xff])), "0xff");
        assert_eq!(format!("{traced:?}"), short_hex(&long));
    }

    #[test]
    fn an_event_counts_its_topic_and_data() {
        let record = EventRecord {
            event: Event {
                source: ContractId([0; 32]),
                topic: "topic".into(),
                data: vec![0; 10],
            },
            reverted: false,
            frame: 0,
        };
        assert_eq!(
            record.retained_len(),
            runner_protocol::event_len("topic", &[0; 10])
        );
        assert!(record.retained_len() >= 15);
    }
}
