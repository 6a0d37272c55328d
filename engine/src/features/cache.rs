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

    /// Waits for and holds the lock of the cache folder's appends (`None` without a project).
    fn append_lock(&self) -> anyhow::Result<Option<std::fs::File>> {
        let Some(p) = self.project else {
            return Ok(None);
        };
        let dir = p.path(&self.dir);
        let path = dir.join(".append.lock");
        let io = |source| ProjectError::io(&path, source);
        std::fs::create_dir_all(&dir).map_err(|e| ProjectError::io(&dir, e))?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(Some(file))
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
            // Another process (a run, `predict`, the web app) may have appended meanwhile:
            // append under the cache's own lock, to what is on disk then.
            let _append = self.append_lock()?;
            if self.project.is_some() {
                (index, values) = self.load()?;
            }
            let dim = out.values.ncols();
            let known: std::collections::HashSet<String> = index.hashes.iter().cloned().collect();
            let fresh: Vec<usize> = (0..todo.len())
                .filter(|&i| !out.failed[i])
                .filter(|&i| !known.contains(hashes[todo[i]].as_deref().unwrap_or_default()))
                .collect();
            let old_rows = index.hashes.len();
            let mut all = Array2::<f32>::zeros((old_rows + fresh.len(), dim));
            if let Some(v) = &values {
                if v.ncols() != dim {
                    return Err(self.corrupt(format!(
                        "feature cache has {} columns, expected {dim}",
                        v.ncols()
                    )));
                }
                all.slice_mut(ndarray::s![..old_rows, ..])
                    .assign(&v.slice(ndarray::s![..old_rows, ..]));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::ProjectSettings;

    /// A featurizer whose vector of input `i` is `[i, i]` (hashes are `h<i>`).
    fn rows_of(cache: &FeatureCache, ids: &[usize]) -> FeatureMatrix {
        let hashes: Vec<Option<String>> = ids.iter().map(|i| Some(format!("h{i}"))).collect();
        let mut compute = |todo: &[usize]| {
            let v: Vec<f32> = todo.iter().flat_map(|&r| [ids[r] as f32; 2]).collect();
            Ok(Computed {
                values: Array2::from_shape_vec((todo.len(), 2), v).unwrap(),
                failed: vec![false; todo.len()],
            })
        };
        cache.rows(&hashes, &mut compute).unwrap()
    }

    /// Processes that append at the same time (a run, `predict`, the web app) each keep what the
    /// other added: every vector stays with its own input.
    #[test]
    fn concurrent_appends_keep_every_vector_with_its_input() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data.csv");
        std::fs::write(&data, "a,y\n1,x\n").unwrap();
        let dir = tmp.path().join("p");
        Project::create(&dir, ProjectSettings::new(&data, "y")).unwrap();
        std::thread::scope(|s| {
            for t in 0..4usize {
                let dir = &dir;
                s.spawn(move || {
                    let project = Project::open(dir).unwrap();
                    let cache =
                        FeatureCache::new(Some(&project), "features/x".into(), BTreeMap::new(), 2);
                    for round in 0..5 {
                        let ids: Vec<usize> = (0..3).map(|k| 100 * t + 10 * round + k).collect();
                        let m = rows_of(&cache, &ids);
                        assert!(m.ok.iter().all(|&ok| ok));
                    }
                });
            }
        });
        let project = Project::open(&dir).unwrap();
        let cache = FeatureCache::new(Some(&project), "features/x".into(), BTreeMap::new(), 2);
        let ids: Vec<usize> = (0..4)
            .flat_map(|t| (0..5).flat_map(move |r| (0..3).map(move |k| 100 * t + 10 * r + k)))
            .collect();
        let (index, _) = cache.load().unwrap();
        assert_eq!(index.hashes.len(), ids.len(), "every input cached once");
        let m = rows_of(&cache, &ids);
        for (r, &i) in ids.iter().enumerate() {
            assert_eq!(m.features.row(r).to_vec(), vec![i as f32; 2]);
        }
    }
}
