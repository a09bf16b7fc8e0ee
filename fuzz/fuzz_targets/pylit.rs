#![no_main]
//! The CustomProperties parser must never panic or recurse without bound.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = o365scan::input::pylit::parse_dict(text);
        let _ = o365scan::input::pylit::salvage_pairs(text);
    }
});
