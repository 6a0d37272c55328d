//! Parallel term counting over blocks of documents, merged into one sorted, deterministic
//! vocabulary with document and corpus frequencies.
//!
//! Documents are cut into contiguous blocks counted in parallel (rayon), each with its own
//! block-local term ids; the merge walks the blocks in order and the final vocabulary is sorted,
//! so the result does not depend on the number of threads or on hash-map iteration order.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::analyze::{Scratch, for_each_term};
use super::config::TfidfConfig;

/// Marks a term or column that is not kept.
pub(crate) const NONE: u32 = u32::MAX;

/// Documents per parallel block: a few blocks per thread for balance, at least 32 documents.
pub(crate) fn block_size(n_docs: usize) -> usize {
    let blocks = rayon::current_num_threads().max(1) * 4;
    n_docs.div_ceil(blocks).max(32)
}

/// Term counts of one block of documents, with block-local term ids.
pub(crate) struct BlockCounts {
    /// Local term id → term.
    pub terms: Vec<Box<str>>,
    /// Per document of the block, the range of `pairs` holding its counts (length = docs + 1).
    pub row_ptr: Vec<usize>,
    /// `(local term id, count)` per document, one entry per distinct term, in first-seen order.
    pub pairs: Vec<(u32, u32)>,
}

/// Counts the terms of one block of documents (`None` = empty document).
fn count_block<S: AsRef<str>>(config: &TfidfConfig, docs: &[Option<S>]) -> BlockCounts {
    let mut index: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut counts: Vec<u32> = Vec::new();
    let mut touched: Vec<u32> = Vec::new();
    let mut scratch = Scratch::default();
    let mut row_ptr = Vec::with_capacity(docs.len() + 1);
    let mut pairs = Vec::new();
    row_ptr.push(0);
    for doc in docs {
        if let Some(text) = doc {
            for_each_term(config, text.as_ref(), &mut scratch, |term| {
                let id = match index.get(term) {
                    Some(&id) => id,
                    None => {
                        let id = counts.len() as u32;
                        index.insert(Box::from(term), id);
                        counts.push(0);
                        id
                    }
                };
                let c = &mut counts[id as usize];
                if *c == 0 {
                    touched.push(id);
                }
                *c += 1;
            });
        }
        for &id in &touched {
            pairs.push((id, std::mem::take(&mut counts[id as usize])));
        }
        touched.clear();
        row_ptr.push(pairs.len());
    }
    let mut terms: Vec<Box<str>> = vec![Box::from(""); index.len()];
    for (term, id) in index {
        terms[id as usize] = term;
    }
    BlockCounts { terms, row_ptr, pairs }
}

/// Counts every block of `docs` in parallel; blocks come back in document order.
pub(crate) fn count_blocks<S: AsRef<str> + Sync>(config: &TfidfConfig, docs: &[Option<S>]) -> Vec<BlockCounts> {
    docs.par_chunks(block_size(docs.len())).map(|chunk| count_block(config, chunk)).collect()
}

/// The merged counts of a corpus: distinct terms sorted by code point with their frequencies.
pub(crate) struct CorpusCounts {
    /// Every distinct term, sorted.
    pub terms: Vec<Box<str>>,
    /// Number of documents containing each term.
    pub doc_freq: Vec<u32>,
    /// Total occurrences of each term over the corpus.
    pub term_freq: Vec<u64>,
    /// Per block, local term id → index into `terms`.
    pub local_to_sorted: Vec<Vec<u32>>,
}

/// Merges block-local vocabularies (consuming their terms) into one sorted vocabulary.
pub(crate) fn merge_blocks(blocks: &mut [BlockCounts]) -> CorpusCounts {
    let mut global: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut local_to_global: Vec<Vec<u32>> = Vec::with_capacity(blocks.len());
    for block in blocks.iter_mut() {
        let terms = std::mem::take(&mut block.terms);
        let mut map = Vec::with_capacity(terms.len());
        for term in terms {
            let next = global.len() as u32;
            map.push(*global.entry(term).or_insert(next));
        }
        local_to_global.push(map);
    }
    let mut by_term: Vec<(Box<str>, u32)> = global.into_iter().collect();
    by_term.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rank = vec![0u32; by_term.len()];
    for (r, (_, g)) in by_term.iter().enumerate() {
        rank[*g as usize] = r as u32;
    }
    let terms: Vec<Box<str>> = by_term.into_iter().map(|(t, _)| t).collect();
    let mut doc_freq = vec![0u32; terms.len()];
    let mut term_freq = vec![0u64; terms.len()];
    let local_to_sorted: Vec<Vec<u32>> =
        local_to_global.into_iter().map(|m| m.into_iter().map(|g| rank[g as usize]).collect()).collect();
    for (block, map) in blocks.iter().zip(&local_to_sorted) {
        for &(local, count) in &block.pairs {
            let s = map[local as usize] as usize;
            doc_freq[s] += 1;
            term_freq[s] += u64::from(count);
        }
    }
    CorpusCounts { terms, doc_freq, term_freq, local_to_sorted }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_counts_do_not_depend_on_blocking() {
        let cfg = TfidfConfig::word(1, 2);
        let docs: Vec<Option<&str>> =
            vec![Some("bb aa bb"), None, Some("cc aa"), Some(""), Some("aa aa cc"), Some("dd")];
        let one = {
            let mut b = vec![count_block(&cfg, &docs)];
            merge_blocks(&mut b)
        };
        let many = {
            let mut b: Vec<BlockCounts> = docs.chunks(2).map(|c| count_block(&cfg, c)).collect();
            merge_blocks(&mut b)
        };
        let names: Vec<&str> = one.terms.iter().map(|t| &**t).collect();
        assert_eq!(names, ["aa", "aa aa", "aa bb", "aa cc", "bb", "bb aa", "cc", "cc aa", "dd"]);
        assert_eq!(one.terms, many.terms);
        assert_eq!(one.doc_freq, [3, 1, 1, 1, 1, 1, 2, 1, 1]);
        assert_eq!(one.term_freq, [4, 1, 1, 1, 2, 1, 2, 1, 1]);
        assert_eq!(one.doc_freq, many.doc_freq);
        assert_eq!(one.term_freq, many.term_freq);
    }
}
