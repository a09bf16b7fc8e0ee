//! Linking rows to the `MessageDelivered` of the item they act on
//! (`detections.md` §2.1 "Linked delivery").

use super::Ctx;
use crate::activity::{IdHash, Kind};
use crate::timeline::Timeline;
use rustc_hash::FxHashMap;

/// The deliveries of one mailbox, by item id and Internet message id.
pub struct Deliveries {
    by_item: FxHashMap<IdHash, usize>,
    by_message_id: FxHashMap<IdHash, usize>,
}

impl Deliveries {
    pub fn of(timeline: &Timeline, records: &[usize]) -> Deliveries {
        let file = records
            .first()
            .map_or(0, |&i| timeline.activities[i].source.file as usize);
        let delivered: &[u32] = timeline
            .by_kind
            .get(file)
            .and_then(|k| k.get(&Kind::MessageDelivered))
            .map_or(&[], Vec::as_slice);
        // Sized once: growing by rehashing cost more than filling.
        let with_room = || FxHashMap::with_capacity_and_hasher(delivered.len(), Default::default());
        let (mut by_item, mut by_message_id) = (with_room(), with_room());
        for i in delivered.iter().map(|&i| i as usize) {
            let a = timeline.rec(i);
            if !a.item.is_empty() {
                by_item.entry(a.item).or_insert(i);
            }
            if !a.message_id().is_empty() {
                by_message_id.entry(a.message_id()).or_insert(i);
            }
        }
        Deliveries {
            by_item,
            by_message_id,
        }
    }

    /// The delivery of the item record `i` acts on: same `ActivityItemId`,
    /// else same `InternetMessageId`.
    pub fn linked(&self, ctx: &Ctx<'_>, i: usize) -> Option<usize> {
        let a = ctx.activity(i);
        if a.kind == Kind::MessageDelivered {
            return Some(i);
        }
        let by_item = (!a.item.is_empty())
            .then(|| self.by_item.get(&a.item).copied())
            .flatten();
        by_item.or_else(|| {
            (!a.message_id().is_empty())
                .then(|| self.by_message_id.get(&a.message_id()).copied())
                .flatten()
        })
    }

    /// The subject of the linked delivery (or the row's own subject).
    pub fn subject(&self, ctx: &Ctx<'_>, i: usize) -> Option<String> {
        ctx.activity(i)
            .subject()
            .map(|s| s.into_owned())
            .or_else(|| {
                self.linked(ctx, i)
                    .and_then(|d| ctx.activity(d).subject().map(|s| s.into_owned()))
            })
    }
}
