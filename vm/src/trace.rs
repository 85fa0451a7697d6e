//! Call traces: the tree of frames a call made, with what each was given,
//! spent and returned, and the events it emitted. Serializable and stable,
//! so two engines' traces compare field by field and snapshot as text.

use serde::{Deserialize, Serialize};

use crate::abi::ContractId;
use crate::call::CallError;
use crate::host::Event;

/// How a frame ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameOutcome {
    /// The frame returned this output.
    Output(#[serde(with = "crate::abi::hex_vec")] Vec<u8>),
    /// The frame failed; `code` is what its caller saw (absent at top level).
    Failed {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        error: CallError,
    },
}

/// One frame of a call tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTree {
    pub contract: ContractId,
    pub function: String,
    #[serde(with = "crate::abi::hex_vec")]
    pub arg: Vec<u8>,
    pub gas_limit: u64,
    pub gas_spent: u64,
    pub outcome: FrameOutcome,
    /// Events emitted by this frame itself, in order.
    pub events: Vec<EventRecord>,
    pub children: Vec<CallTree>,
}

/// An event as it appears in a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    #[serde(flatten)]
    pub event: Event,
    /// Whether a failed frame it belongs to was rolled back.
    pub reverted: bool,
    /// The frame that emitted it: its position in a pre-order walk of the
    /// call tree, the top-level frame being 0.
    pub frame: usize,
}

/// Bytes as hex for people: long values are cut, with their length and a
/// blake3 prefix so that different values still look different.
pub fn short_hex(bytes: &[u8]) -> String {
    const SHOWN: usize = 48;
    if bytes.len() <= SHOWN {
        format!("0x{}", hex::encode(bytes))
    } else {
        format!(
            "0x{}.. ({} bytes, blake3 {})",
            hex::encode(&bytes[..SHOWN]),
            bytes.len(),
            &blake3::hash(bytes).to_hex()[..16]
        )
    }
}

impl CallTree {
    /// The tree as indented text, one frame per line.
    pub fn render(&self) -> String {
        let mut text = String::new();
        self.render_into(&mut text, 0);
        text
    }

    fn render_into(&self, text: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        let outcome = match &self.outcome {
            FrameOutcome::Output(bytes) => format!("ok {}", short_hex(bytes)),
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
            short_hex(&self.arg),
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

/// Builds the call tree while a call runs.
#[derive(Debug, Default)]
pub struct TraceBuilder {
    nodes: Vec<Node>,
    open: Vec<usize>,
    /// Every event of the call, in emission order.
    events: Vec<EventRecord>,
}

#[derive(Debug)]
struct Node {
    tree: CallTree,
    children: Vec<usize>,
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
        let index = self.nodes.len();
        if let Some(&parent) = self.open.last() {
            self.nodes[parent].children.push(index);
        }
        self.nodes.push(Node {
            tree: CallTree {
                contract,
                function: function.to_string(),
                arg: arg.to_vec(),
                gas_limit,
                gas_spent: 0,
                outcome: FrameOutcome::Output(Vec::new()),
                events: Vec::new(),
                children: Vec::new(),
            },
            children: Vec::new(),
        });
        self.open.push(index);
        index
    }

    /// Every event of the call so far, in emission order.
    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    /// The argument of every frame the call has entered so far, in
    /// pre-order.
    pub fn args(&self) -> impl Iterator<Item = &[u8]> {
        self.nodes.iter().map(|node| node.tree.arg.as_slice())
    }

    /// Records an event of the running frame.
    pub fn event(&mut self, event: Event) {
        if let Some(&frame) = self.open.last() {
            self.events.push(EventRecord {
                event,
                reverted: false,
                frame,
            });
        }
    }

    /// Closes the running frame.
    pub fn exit(&mut self, gas_spent: u64, outcome: FrameOutcome) {
        if let Some(frame) = self.open.pop() {
            let node = &mut self.nodes[frame];
            node.tree.gas_spent = gas_spent;
            if matches!(outcome, FrameOutcome::Failed { .. }) {
                self.revert_from(frame);
            }
            self.nodes[frame].tree.outcome = outcome;
        }
    }

    /// Flags every event of frame `frame` and its descendants as reverted.
    fn revert_from(&mut self, frame: usize) {
        let mut frames = std::collections::BTreeSet::new();
        let mut pending = vec![frame];
        while let Some(index) = pending.pop() {
            frames.insert(index);
            pending.extend(self.nodes[index].children.iter().copied());
        }
        for record in &mut self.events {
            if frames.contains(&record.frame) {
                record.reverted = true;
            }
        }
    }

    /// The finished tree and every event in emission order, leaving the
    /// builder empty. Each frame of the tree lists its own events.
    pub fn finish(&mut self) -> (Option<CallTree>, Vec<EventRecord>) {
        let mut nodes = std::mem::take(&mut self.nodes);
        let events = std::mem::take(&mut self.events);
        self.open.clear();
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
        (trees.into_iter().next().flatten(), events)
    }
}
