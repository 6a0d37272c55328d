//! What the workspace's test suites share: the `AUTOPILOT_REQUIRE_*` switches, the read-only
//! `shared/` folder (real data, peer results, PyTorch reference outputs) and numeric comparison.
//!
//! A test whose prerequisite is missing (pretrained weights, a Vulkan adapter, chromium, the shared
//! folder) skips with a printed note on a developer's machine; CI sets every switch to `1`, so
//! there the same absence fails the test instead of passing it silently.

use std::path::{Path, PathBuf};

/// The environment variable of a switch: `AUTOPILOT_REQUIRE_<what>`.
fn switch(what: &str) -> String {
    format!("AUTOPILOT_REQUIRE_{what}")
}

/// Whether `AUTOPILOT_REQUIRE_<what>=1` is set (`WEIGHTS`, `WGPU`, `CHROMIUM`, `SHARED`).
pub fn required(what: &str) -> bool {
    std::env::var(switch(what)).as_deref() == Ok("1")
}

/// A missing prerequisite: fails the test when `what` is required, else prints a skip note for
/// `why` and returns, for the caller to skip the part that needs it.
pub fn missing(what: &str, why: &str) {
    report_missing(required(what), what, why);
}

/// [`missing`] with the switch's state given.
fn report_missing(required: bool, what: &str, why: &str) {
    assert!(!required, "{}=1 but {why}", switch(what));
    println!("SKIP: {why}");
}

/// The folders where `shared/` is looked for, in order: `$AUTOPILOT_SHARED`, `shared/` beside the
/// workspace (as CI lays it next to its clone), and the developers' `/work/shared`.
fn shared_candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("AUTOPILOT_SHARED") {
        dirs.push(PathBuf::from(dir));
    }
    // This crate sits at `<workspace>/testkit`.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    dirs.push(workspace.join("..").join("shared"));
    dirs.push(PathBuf::from("/work/shared"));
    dirs
}

/// `relative` inside the first shared folder that has it; else the test skips, or fails under
/// `AUTOPILOT_REQUIRE_SHARED=1`.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let candidates = shared_candidates();
    if let Some(found) = candidates
        .iter()
        .map(|dir| dir.join(relative))
        .find(|p| p.exists())
    {
        return Some(found);
    }
    let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    missing(
        "SHARED",
        &format!(
            "shared/{relative} is absent (looked in {})",
            looked.join(", ")
        ),
    );
    None
}

/// The largest |a − b| over two equally long slices; infinite where either holds a NaN (an
/// output left unwritten, say), which a plain `fold(0.0, f32::max)` would skip.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "slices of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(
            0.0,
            |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_is_on_only_when_set_to_one() {
        // A name no one sets: off, and a missing prerequisite only prints.
        assert!(!required("TESTKIT_NEVER_SET"));
        missing("TESTKIT_NEVER_SET", "nothing");
    }

    #[test]
    fn a_required_prerequisite_fails_the_test_with_its_switch_named() {
        let failure = std::panic::catch_unwind(|| report_missing(true, "X", "it is gone"))
            .expect_err("a required prerequisite that is missing fails");
        let message = failure
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert_eq!(message, "AUTOPILOT_REQUIRE_X=1 but it is gone");
        report_missing(false, "X", "it is gone");
    }

    #[test]
    fn a_missing_shared_path_is_none_when_not_required() {
        if required("SHARED") {
            return; // Under the switch a missing path fails by design.
        }
        assert_eq!(shared("no/such/file/anywhere.csv"), None);
    }

    #[test]
    fn the_folder_beside_the_workspace_is_looked_in() {
        let candidates = shared_candidates();
        assert!(
            candidates
                .iter()
                .any(|d| d.ends_with("testkit/../../shared")),
            "{candidates:?}"
        );
        assert_eq!(candidates.last().unwrap(), Path::new("/work/shared"));
    }

    #[test]
    fn max_abs_diff_counts_a_nan_as_infinitely_far() {
        assert_eq!(max_abs_diff(&[1.0, -2.0], &[1.5, -2.25]), 0.5);
        assert_eq!(max_abs_diff(&[1.0, f32::NAN], &[1.0, 2.0]), f32::INFINITY);
        assert_eq!(max_abs_diff(&[], &[]), 0.0);
    }
}
