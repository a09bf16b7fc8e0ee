//! `--from`/`--to`: the period a report shows. Rules always read the whole
//! timeline (a baseline needs the weeks before an intrusion); the window
//! only decides which records and findings the reports show and count.

use crate::activity::Activity;
use crate::timeline::Timeline;
use chrono::{DateTime, Utc};

/// `--from`/`--to`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    pub fn is_set(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t <= e)
    }

    /// A span that overlaps the window at all.
    pub fn overlaps(&self, first: DateTime<Utc>, last: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| last >= f) && self.to.is_none_or(|e| first <= e)
    }

    /// Records inside the window, input by input (for counting; see
    /// [`Window::in_time_order`] for showing).
    pub fn records<'t>(
        self,
        timeline: &'t Timeline,
    ) -> impl Iterator<Item = (usize, &'t Activity)> + 't {
        let all = timeline.activities().iter().enumerate();
        all.filter(move |(_, a)| self.contains(a.time))
    }

    /// Records inside the window in timeline order: (time, file, line).
    pub fn in_time_order(self, timeline: &Timeline) -> impl Iterator<Item = usize> + '_ {
        let all = timeline.in_time_order();
        all.filter(move |&i| self.contains(timeline.activity(i).time))
    }
}
