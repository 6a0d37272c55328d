//! Cutting a document into terms exactly like scikit-learn's `TfidfVectorizer` analyzers.
//!
//! * Lower-casing: Rust's `str::to_lowercase` (full Unicode mapping with final sigma), like
//!   Python's `str.lower`.
//! * Word tokens: sklearn's default `token_pattern` `(?u)\b\w\w+\b`, i.e. every maximal run of two
//!   or more characters from Python's `\w` class (general category L*, N*, or `_`; combining marks
//!   are *not* word characters in Python, so they split tokens). See [`is_word_char`].
//! * Word n-grams: tokens (after stop-word removal) joined by one space.
//! * `char_wb` n-grams: the text is split on Python whitespace (`str.split()`), each word padded
//!   with one space on both sides, then every substring of `n` code points; a padded word shorter
//!   than or equal to `n` is emitted once, whole, and longer n-grams of it are skipped. One
//!   departure from sklearn: a word longer than [`MAX_CHAR_WB_WORD`] code points is cut to that
//!   length first (the n-grams of a 5,000-character hash, base64 blob or DNA read are noise, and
//!   each such word added some 20,000 features).
//!
//! Terms are handed to a callback as `&str` borrowed from reusable buffers ([`Scratch`]), so
//! analysing a document allocates nothing per term.

use super::config::{Analyzer, TfidfConfig};
use super::stop_words::is_english_stop_word;
use super::word_chars::WORD_RANGES;

/// `\w` for ASCII: `[0-9A-Za-z_]`.
const fn ascii_word_table() -> [bool; 128] {
    let mut t = [false; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
}

static ASCII_WORD: [bool; 128] = ascii_word_table();

/// Whether Python's `re` (and so scikit-learn's token pattern) treats `c` as a word character `\w`.
pub fn is_word_char(c: char) -> bool {
    let cp = c as u32;
    if cp < 128 {
        return ASCII_WORD[cp as usize];
    }
    WORD_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether Python's `str.split()` splits on `c`: Unicode `White_Space` plus the ASCII
/// separators U+001C..U+001F that Python also counts as space.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Calls `f` on every token of `text` matching `(?u)\b\w\w+\b` (no lower-casing, no stop words).
pub fn for_each_token<'t>(text: &'t str, mut f: impl FnMut(&'t str)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    // Start byte and length in chars of the current run of word characters.
    let mut run_start = 0;
    let mut run_chars = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        let (word, width) = if b < 128 {
            (ASCII_WORD[b as usize], 1)
        } else {
            match text[i..].chars().next() {
                Some(c) => (is_word_char(c), c.len_utf8()),
                None => break,
            }
        };
        if word {
            if run_chars == 0 {
                run_start = i;
            }
            run_chars += 1;
        } else {
            if run_chars >= 2 {
                f(&text[run_start..i]);
            }
            run_chars = 0;
        }
        i += width;
    }
    if run_chars >= 2 {
        f(&text[run_start..]);
    }
}

/// The tokens of `text` as sklearn's word analyzer sees them before n-grams: lower-cased (when
/// `lowercase`), matching the token pattern, English stop words removed (when `stop_words`).
pub fn word_tokens(text: &str, lowercase: bool, stop_words: bool) -> Vec<String> {
    let lowered;
    let text = if lowercase {
        lowered = text.to_lowercase();
        lowered.as_str()
    } else {
        text
    };
    let mut out = Vec::new();
    for_each_token(text, |t| {
        if !(stop_words && is_english_stop_word(t)) {
            out.push(t.to_string());
        }
    });
    out
}

/// Reusable buffers for [`for_each_term`]; keep one per thread.
#[derive(Debug, Default)]
pub struct Scratch {
    lowered: String,
    joined: String,
    bounds: Vec<(usize, usize)>,
    padded: String,
    char_starts: Vec<usize>,
}

/// Calls `f` once per term occurrence of `text` under `config` (analyzer, n-gram range,
/// lower-casing, stop words). The same term may be emitted several times; order is unspecified.
pub fn for_each_term(config: &TfidfConfig, text: &str, scratch: &mut Scratch, f: impl FnMut(&str)) {
    let Scratch {
        lowered,
        joined,
        bounds,
        padded,
        char_starts,
    } = scratch;
    let text = if !config.lowercase {
        text
    } else if text.is_ascii() {
        lowered.clear();
        lowered.push_str(text);
        lowered.make_ascii_lowercase();
        lowered.as_str()
    } else {
        *lowered = text.to_lowercase();
        lowered.as_str()
    };
    let (lo, hi) = config.ngram_range;
    match config.analyzer {
        Analyzer::Word => word_ngrams(text, config.english_stop_words, lo, hi, joined, bounds, f),
        Analyzer::CharWb => char_wb_ngrams(text, lo, hi, padded, char_starts, f),
    }
}

/// Word n-grams: the kept tokens are written to `joined` separated by single spaces, so every
/// n-gram is a contiguous slice of it.
fn word_ngrams(
    text: &str,
    stop_words: bool,
    lo: usize,
    hi: usize,
    joined: &mut String,
    bounds: &mut Vec<(usize, usize)>,
    mut f: impl FnMut(&str),
) {
    joined.clear();
    bounds.clear();
    for_each_token(text, |t| {
        if stop_words && is_english_stop_word(t) {
            return;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        let start = joined.len();
        joined.push_str(t);
        bounds.push((start, joined.len()));
    });
    let m = bounds.len();
    for n in lo..=hi.min(m) {
        for i in 0..=(m - n) {
            f(&joined[bounds[i].0..bounds[i + n - 1].1]);
        }
    }
}

/// The longest word, in code points, whose `char_wb` n-grams are all taken; a longer one is cut
/// to its first `MAX_CHAR_WB_WORD` (see the module docs).
pub const MAX_CHAR_WB_WORD: usize = 64;

/// `char_wb` n-grams of every whitespace-separated word (cut to [`MAX_CHAR_WB_WORD`]) padded
/// with one space on each side.
fn char_wb_ngrams(
    text: &str,
    lo: usize,
    hi: usize,
    padded: &mut String,
    char_starts: &mut Vec<usize>,
    mut f: impl FnMut(&str),
) {
    for word in text.split(is_python_space).filter(|w| !w.is_empty()) {
        let word = match word.char_indices().nth(MAX_CHAR_WB_WORD) {
            Some((cut, _)) => &word[..cut],
            None => word,
        };
        padded.clear();
        padded.push(' ');
        padded.push_str(word);
        padded.push(' ');
        char_starts.clear();
        char_starts.extend(padded.char_indices().map(|(i, _)| i));
        let w_len = char_starts.len();
        char_starts.push(padded.len());
        for n in lo..=hi {
            if n >= w_len {
                // sklearn counts a padded word no longer than n once, whole, and stops there.
                f(padded);
                break;
            }
            for off in 0..=(w_len - n) {
                f(&padded[char_starts[off]..char_starts[off + n]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(config: &TfidfConfig, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_term(config, text, &mut Scratch::default(), |t| {
            out.push(t.to_string())
        });
        out
    }

    /// Expected tokens from scikit-learn 1.9.1 / Python 3.11.7:
    /// `TfidfVectorizer().build_analyzer()(text)` for each text below.
    #[test]
    fn word_tokens_match_sklearn_on_tricky_unicode() {
        let cases: &[(&str, &[&str])] = &[
            (
                "Café déjà-vu, naïve FAÇADE!",
                &["café", "déjà", "vu", "naïve", "façade"],
            ),
            (
                "don't can't I'm rock'n'roll",
                &["don", "can", "rock", "roll"],
            ),
            (
                "2Pac 1999 a1 x 42 3.14 B-52s",
                &["2pac", "1999", "a1", "42", "14", "52s"],
            ),
            (
                "東京タワー 北京 한국어 ok",
                &["東京タワー", "北京", "한국어", "ok"],
            ),
            (
                "love😍you 🎵music🎵 ❤️heart",
                &["love", "you", "music", "heart"],
            ),
            (
                "cafe\u{301} x²y ½½ snake_case __",
                &["cafe", "x²y", "½½", "snake_case", "__"],
            ),
            // "İ" lowers to "i" + U+0307 (a mark, not \w), so the lone "i" is dropped; final sigma.
            (
                "ΣΊΣΥΦΟΣ İstanbul STRASSE",
                &["σίσυφος", "stanbul", "strasse"],
            ),
            // Devanagari vowel signs / virama are marks: Python splits the words there.
            ("हिन्दी नमस्ते", &["नमस"]),
            (
                "tab\tsep\u{a0}nbsp\u{2003}em",
                &["tab", "sep", "nbsp", "em"],
            ),
        ];
        for (text, want) in cases {
            let got = word_tokens(text, true, false);
            assert_eq!(got, *want, "text {text:?}");
        }
    }

    #[test]
    fn word_char_class_follows_python() {
        assert!(is_word_char('é') && is_word_char('_') && is_word_char('²') && is_word_char('東'));
        assert!(
            !is_word_char('\u{301}'),
            "combining acute is Mn, not \\w in Python"
        );
        assert!(
            !is_word_char('\u{93e}'),
            "Devanagari vowel sign is Mc, not \\w in Python"
        );
        assert!(!is_word_char('\''), "apostrophe splits tokens");
        assert!(!is_word_char('😍') && !is_word_char('-') && !is_word_char(' '));
        assert!(
            is_python_space('\u{1f}')
                && is_python_space('\u{3000}')
                && !is_python_space('\u{200b}')
        );
    }

    #[test]
    fn word_bigrams_join_kept_tokens_with_one_space() {
        let c = TfidfConfig {
            ngram_range: (1, 2),
            english_stop_words: true,
            ..TfidfConfig::default()
        };
        // sklearn: build_analyzer()("The cat -- and THE hat!") with stop_words='english'
        // → ['cat', 'hat', 'cat hat'] ("the"/"and" removed before bigrams).
        assert_eq!(
            terms(&c, "The cat -- and THE hat!"),
            ["cat", "hat", "cat hat"]
        );
        let c = TfidfConfig {
            ngram_range: (2, 3),
            ..TfidfConfig::default()
        };
        assert_eq!(terms(&c, "aa bb cc"), ["aa bb", "bb cc", "aa bb cc"]);
        assert!(terms(&c, "aa").is_empty());
    }

    /// Expected from scikit-learn 1.9.1: `TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5))
    /// .build_analyzer()(text)`.
    #[test]
    fn a_very_long_word_gives_the_char_n_grams_of_its_start_only() {
        let cfg = TfidfConfig::char_wb(2, 5);
        let long = "ab".repeat(2_500);
        let cut = "ab".repeat(MAX_CHAR_WB_WORD / 2);
        assert_eq!(terms(&cfg, &long), terms(&cfg, &cut));
        assert!(terms(&cfg, &long).len() < 4 * (MAX_CHAR_WB_WORD + 2));
    }

    #[test]
    fn char_wb_ngrams_match_sklearn() {
        let c = TfidfConfig::char_wb(2, 5);
        assert_eq!(
            terms(&c, "Hi  a"),
            [" h", "hi", "i ", " hi", "hi ", " hi ", " a", "a ", " a "]
        );
        assert_eq!(
            terms(&c, "Été"),
            [
                " é", "ét", "té", "é ", " ét", "été", "té ", " été", "été ", " été "
            ]
        );
        let c3 = TfidfConfig::char_wb(3, 3);
        assert_eq!(terms(&c3, "a"), [" a "]);
        let c45 = TfidfConfig::char_wb(4, 5);
        assert_eq!(terms(&c45, "a bcd"), [" a ", " bcd", "bcd ", " bcd "]);
        assert!(terms(&c, " \t\n").is_empty());
    }
}
