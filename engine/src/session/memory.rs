//! How much of this machine's memory a learned feature may take before autopilot leaves it
//! out: the fine-tuned CNN's trunk maps grow with the backbone and the number of trained stages
//! (0.1 MB a row for MobileNetV2's last stage, 1.6 MB for the ResNet's, 6.4 MB for its last
//! three), and a fold's fit holds them about three times over (the whole matrix, the fold's
//! training rows, the rows being scored).

use crate::features::{FeatureKey, image};

/// The features of one fine-tuned CNN may take a fifth of the machine's memory: with the
/// copies a fit makes, about three fifths.
const SHARE: u64 = 5;

/// Assumed machine memory where `/proc/meminfo` cannot be read.
const FALLBACK_MEMORY: u64 = 16 << 30;

/// Total memory of this machine from `/proc/meminfo`, if it says.
fn machine_memory() -> Option<u64> {
    parse_mem_total(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut parts = line["MemTotal:".len()..].split_whitespace();
    let kib: u64 = parts.next()?.parse().ok()?;
    (parts.next() == Some("kB")).then_some(kib * 1024)
}

/// Why `key`'s features for `rows` rows are too large to compute for autopilot (more than a
/// fifth of this machine's memory), or `None` when they fit (or are not image features).
pub fn too_large(key: &FeatureKey, rows: usize) -> Option<String> {
    let FeatureKey::Image(k) = key else {
        return None;
    };
    let bytes = image::row_bytes(k).ok()? as u64 * rows as u64;
    let memory = machine_memory().unwrap_or(FALLBACK_MEMORY);
    exceeds(bytes, memory).then(|| {
        format!(
            "its {} maps of {rows} rows would take {:.1} GB, over a fifth of this machine's \
             {:.1} GB (`tune` with fewer `stages` or another `backbone` can still ask for it)",
            k.levels.join("+"),
            bytes as f64 / 1e9,
            memory as f64 / 1e9
        )
    })
}

/// Whether `bytes` of features exceed the share of `memory` they may take.
fn exceeds(bytes: u64, memory: u64) -> bool {
    bytes > memory / SHARE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::ImageKey;

    #[test]
    fn reads_mem_total_in_bytes() {
        let text = "MemTotal:       24683796 kB\nMemFree:         9967612 kB\n";
        assert_eq!(parse_mem_total(text), Some(24_683_796 * 1024));
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_mem_total("MemTotal: lots\n"), None);
        assert!(machine_memory().is_none_or(|m| m > 0));
    }

    #[test]
    fn the_resnets_deep_trunks_are_left_out_where_its_last_stage_fits() {
        let key = |backbone: &str, level: &str| {
            FeatureKey::Image(ImageKey {
                column: "cover".into(),
                backbone: backbone.into(),
                levels: vec![level.into()],
            })
        };
        let bytes = |k: &FeatureKey| match k {
            FeatureKey::Image(k) => image::row_bytes(k).unwrap() as u64,
            _ => unreachable!(),
        };
        // 1.6 MB a row for the ResNet's last stage (4 views × 512 × 14 × 14), 4× that for three.
        let last = key("resnet50-1by2", "trunk");
        assert_eq!(bytes(&last), 4 * 512 * 14 * 14 * 4);
        assert_eq!(bytes(&key("resnet50-1by2", "trunk3")), 4 * bytes(&last));
        // The covers' 1,264 rows on a 24 GB machine: the last stage fits, three stages do not.
        let memory = 24 << 30;
        assert!(!exceeds(1264 * bytes(&last), memory));
        assert!(exceeds(
            1264 * bytes(&key("resnet50-1by2", "trunk3")),
            memory
        ));
        // MobileNetV2's last stage for 10,000 rows fits; pooled features are never the issue.
        assert!(!exceeds(
            10_000 * bytes(&key("mobilenet-v2", "trunk")),
            memory
        ));
        assert!(too_large(&key("mobilenet-v2", "high"), 1_000_000).is_none());
    }
}
