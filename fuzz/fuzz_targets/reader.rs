#![no_main]
//! The reader must never panic, and must account for every row it counts.

use libfuzzer_sys::fuzz_target;
use o365scan::input::{self, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties\n".to_vec();
    bytes.extend_from_slice(data);
    if let Ok(p) = input::read(std::io::Cursor::new(bytes), "fuzz.csv", 0, ReadOptions::default()) {
        let s = &p.summary;
        assert_eq!(s.rows, s.records + s.rejected + s.duplicates);
    }
    let _ = input::read(std::io::Cursor::new(data.to_vec()), "fuzz.csv", 0, ReadOptions::default());
});
