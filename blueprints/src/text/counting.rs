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

/// Documents per parallel block when counting for `fit`: one block per thread (at least 32
/// documents), since every extra block adds its distinct terms to the sequential merge.
pub(crate) fn fit_block_size(n_docs: usize) -> usize {
    n_docs.div_ceil(rayon::current_num_threads().max(1)).max(32)
}

/// Documents per parallel block when transforming: a few blocks per thread for balance.
pub(crate) fn transform_block_size(n_docs: usize) -> usize {
    n_docs
        .div_ceil(rayon::current_num_threads().max(1) * 4)
        .max(32)
}

/// Term counts of one block of documents, with block-local term ids.
pub(crate) struct BlockCounts {
    /// Term → local term id.
    pub index: FxHashMap<Box<str>, u32>,
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
    BlockCounts {
        index,
        row_ptr,
        pairs,
    }
}

/// Counts every block of `docs` in parallel; blocks come back in document order.
pub(crate) fn count_blocks<S: AsRef<str> + Sync>(
    config: &TfidfConfig,
    docs: &[Option<S>],
) -> Vec<BlockCounts> {
    docs.par_chunks(fit_block_size(docs.len()))
        .map(|chunk| count_block(config, chunk))
        .collect()
}

/// The merged counts of a corpus. Global term ids follow first appearance over the blocks; they
/// are an internal order only (the output vocabulary is sorted later, see [`sort_terms`]).
pub(crate) struct CorpusCounts {
    /// Every distinct term, by global id.
    pub terms: Vec<Box<str>>,
    /// Number of documents containing each term.
    pub doc_freq: Vec<u32>,
    /// Total occurrences of each term over the corpus.
    pub term_freq: Vec<u64>,
    /// Per block, local term id → global id.
    pub local_to_global: Vec<Vec<u32>>,
}

/// Merges block-local vocabularies (consuming them) into one, with document and corpus frequencies.
pub(crate) fn merge_blocks(blocks: &mut [BlockCounts]) -> CorpusCounts {
    let mut global: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut local_to_global: Vec<Vec<u32>> = Vec::with_capacity(blocks.len());
    for (b, block) in blocks.iter_mut().enumerate() {
        let index = std::mem::take(&mut block.index);
        if b == 0 {
            // The first block's ids become the global ids as they are.
            local_to_global.push((0..index.len() as u32).collect());
            global = index;
            continue;
        }
        let mut map = vec![0u32; index.len()];
        for (term, local) in index {
            let next = global.len() as u32;
            map[local as usize] = *global.entry(term).or_insert(next);
        }
        local_to_global.push(map);
    }
    let mut terms: Vec<Box<str>> = vec![Box::from(""); global.len()];
    for (term, g) in global {
        terms[g as usize] = term;
    }
    let mut doc_freq = vec![0u32; terms.len()];
    let mut term_freq = vec![0u64; terms.len()];
    for (block, map) in blocks.iter().zip(&local_to_global) {
        for &(local, count) in &block.pairs {
            let g = map[local as usize] as usize;
            doc_freq[g] += 1;
            term_freq[g] += u64::from(count);
        }
    }
    CorpusCounts {
        terms,
        doc_freq,
        term_freq,
        local_to_global,
    }
}

/// The first 8 bytes of a term, big-endian, zero-padded: comparing these orders terms like
/// comparing the strings whenever they differ, without touching the string memory.
fn prefix_key(term: &str) -> u64 {
    let mut buf = [0u8; 8];
    let n = term.len().min(8);
    buf[..n].copy_from_slice(&term.as_bytes()[..n]);
    u64::from_be_bytes(buf)
}

/// Sorts term ids by their term (code-point order, like Python's `sorted`).
pub(crate) fn sort_terms(ids: &mut Vec<u32>, terms: &[Box<str>]) {
    let mut keyed: Vec<(u64, u32)> = ids
        .iter()
        .map(|&g| (prefix_key(&terms[g as usize]), g))
        .collect();
    keyed.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| terms[a.1 as usize].cmp(&terms[b.1 as usize]))
    });
    ids.clear();
    ids.extend(keyed.into_iter().map(|(_, g)| g));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_sort_orders_like_strings() {
        let words = [
            "abcdefghij",
            "abcdefgh",
            "abcdefghi",
            "b",
            "",
            "a\u{0}",
            "a",
            "é",
            "z",
            "abcdefgh\u{0}",
        ];
        let terms: Vec<Box<str>> = words.iter().map(|&w| Box::from(w)).collect();
        let mut ids: Vec<u32> = (0..terms.len() as u32).collect();
        sort_terms(&mut ids, &terms);
        let got: Vec<&str> = ids.iter().map(|&i| words[i as usize]).collect();
        let mut want = words.to_vec();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn merged_counts_do_not_depend_on_blocking() {
        let cfg = TfidfConfig::word(1, 2);
        let docs: Vec<Option<&str>> = vec![
            Some("bb aa bb"),
            None,
            Some("cc aa"),
            Some(""),
            Some("aa aa cc"),
            Some("dd"),
        ];
        let one = {
            let mut b = vec![count_block(&cfg, &docs)];
            merge_blocks(&mut b)
        };
        let many = {
            let mut b: Vec<BlockCounts> = docs.chunks(2).map(|c| count_block(&cfg, c)).collect();
            merge_blocks(&mut b)
        };
        // (term, document frequency, corpus frequency) in sorted order, whatever the blocking.
        let table = |c: &CorpusCounts| {
            let mut ids: Vec<u32> = (0..c.terms.len() as u32).collect();
            sort_terms(&mut ids, &c.terms);
            ids.iter()
                .map(|&g| {
                    (
                        c.terms[g as usize].to_string(),
                        c.doc_freq[g as usize],
                        c.term_freq[g as usize],
                    )
                })
                .collect::<Vec<_>>()
        };
        let want = [
            ("aa", 3, 4),
            ("aa aa", 1, 1),
            ("aa bb", 1, 1),
            ("aa cc", 1, 1),
            ("bb", 1, 2),
            ("bb aa", 1, 1),
            ("cc", 2, 2),
            ("cc aa", 1, 1),
            ("dd", 1, 1),
        ]
        .map(|(t, d, f)| (t.to_string(), d, f));
        assert_eq!(table(&one), want);
        assert_eq!(table(&many), want);
    }
}
