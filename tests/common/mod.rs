//! Shared by the end-to-end tests of the `mimic` binary.

use std::process::Command;

/// Run this profile's `mimic` with `args` in the repository root: exit code (-1 if
/// killed by a signal), stdout, stderr.
pub fn mimic(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mimic"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run mimic");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
