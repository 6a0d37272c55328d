//! One content-hash cache for every learned feature: a project folder per featurizer holding
//! `values.npy` (one vector per distinct input) and `index.json` (the SHA-256 of the input behind
//! each row, and what produced the vectors). Folds, blueprints, reruns, resumed runs, tuning,
//! insights and predictions look vectors up by content and compute only what is new.
//!
//! A cache that cannot be read or written is a [`ProjectError`] in the error chain (see
//! [`ProjectError::find_in`]): a run must stop on it, unlike a featurizer that cannot run.

use std::collections::{BTreeMap, HashMap};

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::FeatureMatrix;
use crate::project::{Project, ProjectError};

/// SHA-256 (hex) of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// `index.json`: what produced the vectors (`about`, e.g. backbone and levels) and the content
/// hash of each row of `values.npy`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheIndex {
    #[serde(flatten)]
    about: BTreeMap<String, serde_json::Value>,
    hashes: Vec<String>,
}

/// Vectors a featurizer computed for the inputs it was given, in order; `failed[i]` marks an
/// input it could not featurize (its row is ignored and not cached).
pub struct Computed {
    /// One row per input.
    pub values: Array2<f32>,
    /// Per input: whether featurizing it failed.
    pub failed: Vec<bool>,
}

/// A feature cache folder of a project (or no cache at all: everything is computed).
pub struct FeatureCache<'p> {
    project: Option<&'p Project>,
    dir: String,
    about: BTreeMap<String, serde_json::Value>,
    /// Width of the result when nothing is cached or computed.
    empty_dim: usize,
}

impl<'p> FeatureCache<'p> {
    /// The cache in `project`'s folder `dir`; `about` records what produced the vectors.
    pub fn new(
        project: Option<&'p Project>,
        dir: String,
        about: BTreeMap<String, serde_json::Value>,
        empty_dim: usize,
    ) -> Self {
        Self {
            project,
            dir,
            about,
            empty_dim,
        }
    }

    fn corrupt(&self, message: String) -> anyhow::Error {
        let path = self
            .project
            .map_or_else(|| self.dir.clone().into(), |p| p.path(&self.dir));
        ProjectError::BadArray {
            path,
            reason: message,
        }
        .into()
    }

    fn load(&self) -> anyhow::Result<(CacheIndex, Option<Array2<f32>>)> {
        let Some(p) = self.project else {
            return Ok((CacheIndex::default(), None));
        };
        match p.load_json_opt::<CacheIndex>(&format!("{}/index.json", self.dir))? {
            Some(idx) if !idx.hashes.is_empty() => {
                let v = p.load_matrix(&format!("{}/values.npy", self.dir), (None, None))?;
                if v.nrows() < idx.hashes.len() {
                    return Err(ProjectError::Corrupt {
                        path: p.path(&self.dir),
                        message: "feature cache index is longer than its values; delete the folder"
                            .into(),
                    }
                    .into());
                }
                Ok((idx, Some(v)))
            }
            _ => Ok((CacheIndex::default(), None)),
        }
    }

    /// The vectors of every row, by content hash (`None`: no input, a row of zeros that is not
    /// `ok`). Hashes not cached yet are computed once each (`compute` gets the row of each
    /// one's first occurrence, in row order) and appended to the cache: values first, then the
    /// index that refers to them.
    pub fn rows(
        &self,
        hashes: &[Option<String>],
        compute: &mut dyn FnMut(&[usize]) -> anyhow::Result<Computed>,
    ) -> anyhow::Result<FeatureMatrix> {
        let (mut index, mut values) = self.load()?;
        let mut todo: Vec<usize> = Vec::new();
        {
            let cached: HashMap<&str, usize> = index
                .hashes
                .iter()
                .enumerate()
                .map(|(i, h)| (h.as_str(), i))
                .collect();
            let mut seen = std::collections::HashSet::new();
            for (r, h) in hashes.iter().enumerate() {
                if let Some(h) = h
                    && !cached.contains_key(h.as_str())
                    && seen.insert(h.as_str())
                {
                    todo.push(r);
                }
            }
        }
        if !todo.is_empty() {
            let out = compute(&todo)?;
            let dim = out.values.ncols();
            let fresh: Vec<usize> = (0..todo.len()).filter(|&i| !out.failed[i]).collect();
            let old_rows = values.as_ref().map_or(0, |v| v.nrows());
            let mut all = Array2::<f32>::zeros((old_rows + fresh.len(), dim));
            if let Some(v) = &values {
                if v.ncols() != dim {
                    return Err(self.corrupt(format!(
                        "feature cache has {} columns, expected {dim}",
                        v.ncols()
                    )));
                }
                all.slice_mut(ndarray::s![..old_rows, ..]).assign(v);
            }
            for (j, &i) in fresh.iter().enumerate() {
                all.row_mut(old_rows + j).assign(&out.values.row(i));
                index
                    .hashes
                    .push(hashes[todo[i]].clone().unwrap_or_default());
            }
            index.about = self.about.clone();
            if let Some(p) = self.project {
                p.save_matrix(&format!("{}/values.npy", self.dir), all.view())?;
                p.save_json(&format!("{}/index.json", self.dir), &index)?;
            }
            values = Some(all);
        }
        let values = values.unwrap_or_else(|| Array2::zeros((0, self.empty_dim)));
        let row_of: HashMap<&str, usize> = index
            .hashes
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let mut features = Array2::<f32>::zeros((hashes.len(), values.ncols()));
        let mut ok = vec![false; hashes.len()];
        for (r, h) in hashes.iter().enumerate() {
            if let Some(&i) = h.as_deref().and_then(|h| row_of.get(h)) {
                features.row_mut(r).assign(&values.row(i));
                ok[r] = true;
            }
        }
        Ok(FeatureMatrix { features, ok })
    }
}
