//! Linking rows to the `MessageDelivered` of the item they act on
//! (`docs/rules.md` §2.1 "Linked delivery").

use super::Ctx;
use crate::activity::{IdHash, Kind};
use crate::timeline::{Records, Timeline};
use hashbrown::HashTable;

/// The deliveries of one mailbox, by item id and Internet message id.
///
/// The tables hold record indices only and compare through the records
/// (ids are hashes already): a few bytes per delivery, where a map from id
/// to index took four times as much on a busy mailbox.
pub struct Deliveries {
    by_item: HashTable<u32>,
    by_message_id: HashTable<u32>,
}

/// The ids the tables compare through: a delivery's item id, and its
/// Internet message id.
fn item_of(timeline: &Timeline, j: u32) -> IdHash {
    timeline.activity(j as usize).item
}

fn message_id_of(timeline: &Timeline, j: u32) -> IdHash {
    timeline.rec(j as usize).message_id()
}

/// First-come entry of `i` under `id` (deliveries arrive in time order, so
/// the earliest delivery of an id wins).
fn insert_first(table: &mut HashTable<u32>, id: IdHash, i: u32, id_of: impl Fn(u32) -> IdHash) {
    if id.is_empty() {
        return;
    }
    let rehash = |&j: &u32| id_of(j).0;
    if let hashbrown::hash_table::Entry::Vacant(slot) =
        table.entry(id.0, |&j| id_of(j) == id, rehash)
    {
        slot.insert(i);
    }
}

impl Deliveries {
    pub fn of(timeline: &Timeline, records: Records) -> Deliveries {
        let delivered = timeline.of_kind(records.file, Kind::MessageDelivered);
        let (item, message_id) = (|j| item_of(timeline, j), |j| message_id_of(timeline, j));
        // One pass over the deliveries fills both tables, sized once
        // (growing by rehashing cost more than filling). A busy mailbox has
        // hundreds of thousands: reading each record once took two thirds
        // of the CPU of a pass per table on two threads, and the tables
        // are built beside the rules, which want the cores.
        let mut by_item = HashTable::with_capacity(delivered.len());
        let mut by_message_id = HashTable::with_capacity(delivered.len());
        for &i in delivered {
            insert_first(&mut by_item, item(i), i, item);
            insert_first(&mut by_message_id, message_id(i), i, message_id);
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
        let tl = ctx.timeline;
        let find = |table: &HashTable<u32>, id: IdHash, id_of: fn(&Timeline, u32) -> IdHash| {
            let found = (!id.is_empty()).then(|| table.find(id.0, |&j| id_of(tl, j) == id));
            found.flatten().map(|&j| j as usize)
        };
        find(&self.by_item, a.item, item_of)
            .or_else(|| find(&self.by_message_id, a.message_id(), message_id_of))
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
