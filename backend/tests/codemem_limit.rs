//! Code memories register their executable range for the fault handler; when its
//! table is full, creating another is an error rather than silently losing fault
//! recovery. (Its own test binary: it must not share the table with other tests.)

use mimic_backend::codemem::{CodeMemError, CodeMemory};

#[test]
fn too_many_code_memories_is_an_error() {
    let mut live = Vec::new();
    let err = loop {
        match CodeMemory::new(4096) {
            Ok(m) => live.push(m),
            Err(e) => break e,
        }
        assert!(live.len() <= 64, "no limit reached");
    };
    assert!(matches!(err, CodeMemError::TooMany), "{err}");
    assert!(err.to_string().contains("share one code cache"));
    live.pop();
    assert!(CodeMemory::new(4096).is_ok(), "a freed slot is reusable");
}
