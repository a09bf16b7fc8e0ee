//! Linking rows to the `MessageDelivered` of the item they act on
//! (`detections.md` §2.1 "Linked delivery").

use super::Ctx;
use crate::activity::Kind;
use std::collections::HashMap;

/// The deliveries of one mailbox, by item id and Internet message id.
pub struct Deliveries<'a> {
    by_item: HashMap<&'a str, usize>,
    by_message_id: HashMap<String, usize>,
}

impl<'a> Deliveries<'a> {
    pub fn of(ctx: &Ctx<'a>, records: &[usize]) -> Deliveries<'a> {
        let mut by_item = HashMap::new();
        let mut by_message_id = HashMap::new();
        for &i in records {
            let a = ctx.activity(i);
            if a.kind != Kind::MessageDelivered {
                continue;
            }
            if !a.item_id.is_empty() {
                by_item.entry(&*a.item_id).or_insert(i);
            }
            if let Some(id) = a.internet_message_id() {
                by_message_id.entry(id.into_owned()).or_insert(i);
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
        self.by_item.get(&*a.item_id).copied().or_else(|| {
            a.internet_message_id()
                .and_then(|id| self.by_message_id.get(id.as_ref()).copied())
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
