//! What every parallel path shares: how many cores a run may use.

/// The cores this run may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
