//! Which configurations a search tries: the grid of the non-path dimensions, cut to a budget.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::params::SearchDim;

/// One group of configurations: fixed values of the non-path dimensions and, when the space has a
/// path dimension, every value of it (fitted in sequence, warm-started, where supported).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Values of the non-path dimensions.
    pub values: Vec<(String, String)>,
    /// The path dimension and its values, in the order to fit them.
    pub path: Option<(String, Vec<String>)>,
}

/// At most `max_configs` groups over `dims`: the whole grid of the non-path dimensions when it
/// is that small, else the current configuration (`current`, one value per dimension in `dims`'
/// order) and a seeded sample of the others. The current configuration always comes first.
pub fn configurations(
    dims: &[SearchDim],
    current: &[String],
    max_configs: usize,
    seed: u64,
) -> Vec<Group> {
    let path_at = dims.iter().position(|d| d.path);
    let path = path_at.map(|i| (dims[i].name.clone(), dims[i].values.clone()));
    let others: Vec<(usize, &SearchDim)> = dims
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != path_at)
        .collect();
    let start: Vec<String> = others.iter().map(|(i, _)| current[*i].clone()).collect();
    let mut grid: Vec<Vec<String>> = vec![Vec::new()];
    for (_, d) in &others {
        grid = grid
            .into_iter()
            .flat_map(|prefix| {
                d.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect();
    }
    grid.retain(|g| *g != start);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eac_4c0f);
    grid.shuffle(&mut rng);
    let mut chosen = vec![start];
    chosen.extend(grid.into_iter().take(max_configs.max(1) - 1));
    chosen
        .into_iter()
        .map(|vals| Group {
            values: others
                .iter()
                .zip(vals)
                .map(|((_, d), v)| (d.name.clone(), v))
                .collect(),
            path: path.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(name: &str, values: &[&str], path: bool) -> SearchDim {
        SearchDim::new(name, values, path)
    }

    #[test]
    fn small_grids_are_tried_whole_with_the_current_values_first() {
        let dims = [dim("a", &["1", "2"], false), dim("b", &["x", "y"], false)];
        let g = configurations(&dims, &["2".into(), "y".into()], 10, 0);
        assert_eq!(g.len(), 4);
        assert_eq!(
            g[0].values,
            vec![("a".into(), "2".into()), ("b".into(), "y".into())]
        );
        assert!(g.iter().all(|g| g.path.is_none()));
    }

    #[test]
    fn large_grids_are_sampled_to_the_budget_deterministically() {
        let dims = [
            dim("a", &["1", "2", "3"], false),
            dim("b", &["1", "2", "3"], false),
            dim("c", &["0.1", "1", "10"], true),
        ];
        let cur = ["1".to_string(), "1".to_string(), "1".to_string()];
        let g = configurations(&dims, &cur, 4, 7);
        assert_eq!(g.len(), 4);
        assert_eq!(g, configurations(&dims, &cur, 4, 7));
        assert_ne!(g, configurations(&dims, &cur, 4, 8));
        // The path dimension is never cut: every group carries all of its values.
        assert!(
            g.iter()
                .all(|g| g.path == Some(("c".into(), vec!["0.1".into(), "1".into(), "10".into()])))
        );
        let distinct: std::collections::BTreeSet<_> = g.iter().map(|g| g.values.clone()).collect();
        assert_eq!(distinct.len(), 4);
    }
}
