//! Checks against scikit-learn 1.9.1 `TfidfVectorizer` (Python 3.11.7). Every constant below was
//! printed by a script like
//!
//! ```text
//! from sklearn.feature_extraction.text import TfidfVectorizer as T
//! v = T(ngram_range=(1, 2), sublinear_tf=True); X = v.fit_transform(DOCS).tocoo()
//! print(list(v.get_feature_names_out()), v.idf_, sorted(zip(X.row, X.col, X.data)))
//! ```
//!
//! with `None` documents passed to sklearn as `""` (sklearn rejects NaN documents).

use sprs::CsMat;

use super::{Analyzer, DocFreq, TfidfConfig, TfidfUnion, TfidfVectorizer};

const DOCS: [Option<&str>; 5] = [
    Some("I love you, love you baby!"),
    Some("You don't love me"),
    None,
    Some("Baby baby baby, I'm the one"),
    Some("One love: one heart"),
];

fn dense(m: &CsMat<f32>) -> Vec<Vec<f32>> {
    let mut d = vec![vec![0.0; m.cols()]; m.rows()];
    for (v, (r, c)) in m.iter() {
        d[r][c] = *v;
    }
    d
}

fn fit_names(config: TfidfConfig) -> Vec<String> {
    let mut v = TfidfVectorizer::new(config).unwrap();
    v.fit(&DOCS).unwrap();
    v.vocabulary().unwrap().terms().to_vec()
}

#[test]
fn word_1_2_sublinear_matches_sklearn() {
    let vocab = [
        "baby",
        "baby baby",
        "baby the",
        "don",
        "don love",
        "heart",
        "love",
        "love me",
        "love one",
        "love you",
        "me",
        "one",
        "one heart",
        "one love",
        "the",
        "the one",
        "you",
        "you baby",
        "you don",
        "you love",
    ];
    let (a, b, c) = (1.69314718056, 2.09861228867, 1.40546510811);
    let idf = [a, b, b, b, b, b, c, b, b, b, b, a, b, b, b, b, a, b, b, b];
    #[rustfmt::skip]
    let triplets: [(usize, usize, f64); 25] = [
        (0, 0, 0.274010184), (0, 6, 0.385111753), (0, 9, 0.57504114), (0, 16, 0.463939571),
        (0, 17, 0.339628561), (0, 19, 0.339628561), (1, 3, 0.404907091), (1, 4, 0.404907091),
        (1, 6, 0.271170998), (1, 7, 0.404907091), (1, 10, 0.404907091), (1, 16, 0.326676491),
        (1, 18, 0.404907091), (3, 0, 0.552702216), (3, 1, 0.552702216), (3, 2, 0.326434832),
        (3, 11, 0.263365567), (3, 14, 0.326434832), (3, 15, 0.326434832), (4, 5, 0.397951031),
        (4, 6, 0.266512443), (4, 8, 0.397951031), (4, 11, 0.543609259), (4, 12, 0.397951031),
        (4, 13, 0.397951031),
    ];
    let mut v = TfidfVectorizer::new(TfidfConfig::word(1, 2)).unwrap();
    let x = v.fit_transform(&DOCS).unwrap();
    assert_eq!(v.vocabulary().unwrap().terms(), vocab);
    for (got, want) in v.idf().unwrap().iter().zip(idf) {
        assert!((got - want).abs() < 1e-10, "idf {got} vs {want}");
    }
    assert!(x.is_csr());
    assert_eq!((x.rows(), x.cols(), x.nnz()), (5, 20, 25));
    let mut want = vec![vec![0.0f64; 20]; 5];
    for (r, c, val) in triplets {
        want[r][c] = val;
    }
    let got = dense(&x);
    for r in 0..5 {
        for c in 0..20 {
            assert!(
                (f64::from(got[r][c]) - want[r][c]).abs() < 1e-6,
                "({r},{c}): {} vs {}",
                got[r][c],
                want[r][c]
            );
        }
    }
    // transform on the training rows reproduces fit_transform bit for bit.
    let again = v.transform(&DOCS).unwrap();
    assert_eq!(again, x);
    assert_eq!(v.feature_names()[9], "word:love you");
}

#[test]
fn char_wb_2_5_sublinear_matches_sklearn() {
    let albums = [
        Some("Abbey Road"),
        Some("Let It Be"),
        None,
        Some("Road to Ruin"),
        Some("Être"),
    ];
    let mut v = TfidfVectorizer::new(TfidfConfig::char_wb(2, 5)).unwrap();
    let x = v.fit_transform(&albums).unwrap();
    assert_eq!((x.rows(), x.cols(), x.nnz()), (5, 84, 100));
    let row_sums = [5.62533015f64, 4.52530612, 0.0, 5.69738546, 3.73690397];
    let got = dense(&x);
    for (r, want) in row_sums.iter().enumerate() {
        let s: f64 = got[r].iter().map(|&v| f64::from(v)).sum();
        assert!((s - want).abs() < 1e-5, "row {r} sum {s} vs {want}");
    }
    // (term, column, idf, column values) from sklearn.
    let (a, b) = (1.69314718056, 2.09861228867);
    #[rustfmt::skip]
    let columns: [(&str, usize, f64, [f64; 5]); 8] = [
        (" r", 14, a, [0.155951332, 0.0, 0.0, 0.252241519, 0.0]),
        ("road", 64, a, [0.155951332, 0.0, 0.0, 0.148977904, 0.0]),
        ("oad ", 59, a, [0.155951332, 0.0, 0.0, 0.148977904, 0.0]),
        ("ad", 32, a, [0.155951332, 0.0, 0.0, 0.148977904, 0.0]),
        (" ê", 24, b, [0.0, 0.0, 0.0, 0.0, 0.270656899]),
        ("être ", 83, b, [0.0, 0.0, 0.0, 0.0, 0.270656899]),
        (" to ", 23, b, [0.0, 0.0, 0.0, 0.184654273, 0.0]),
        ("e ", 43, a, [0.0, 0.171353732, 0.0, 0.0, 0.218364282]),
    ];
    let vocab = v.vocabulary().unwrap();
    for (term, col, idf, values) in columns {
        assert_eq!(vocab.column(term), Some(col), "column of {term:?}");
        assert!((v.idf().unwrap()[col] - idf).abs() < 1e-10);
        for (r, want) in values.iter().enumerate() {
            assert!(
                (f64::from(got[r][col]) - want).abs() < 1e-6,
                "{term:?} row {r}: {} vs {want}",
                got[r][col]
            );
        }
    }
    assert_eq!(v.feature_names()[14], "char: r");
}

#[test]
fn min_df_max_df_match_sklearn() {
    let base = TfidfConfig::default();
    let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // sklearn: T(min_df=2) → ['baby', 'love', 'one', 'you']
    assert_eq!(
        fit_names(TfidfConfig {
            min_df: DocFreq::Count(2),
            ..base.clone()
        }),
        words(&["baby", "love", "one", "you"])
    );
    // sklearn: T(max_df=0.5) and T(max_df=2) → ['baby', 'don', 'heart', 'me', 'one', 'the', 'you']
    let low = words(&["baby", "don", "heart", "me", "one", "the", "you"]);
    assert_eq!(
        fit_names(TfidfConfig {
            max_df: DocFreq::Proportion(0.5),
            ..base.clone()
        }),
        low
    );
    assert_eq!(
        fit_names(TfidfConfig {
            max_df: DocFreq::Count(2),
            ..base.clone()
        }),
        low
    );
    // sklearn: T(min_df=0.3, max_df=0.7) → ['baby', 'love', 'one', 'you']
    let both = TfidfConfig {
        min_df: DocFreq::Proportion(0.3),
        max_df: DocFreq::Proportion(0.7),
        ..base.clone()
    };
    assert_eq!(fit_names(both), words(&["baby", "love", "one", "you"]));
    // sklearn raises "max_df corresponds to < documents than min_df" / "no terms remain".
    let crossed = TfidfConfig {
        min_df: DocFreq::Count(3),
        max_df: DocFreq::Count(2),
        ..base.clone()
    };
    assert!(TfidfVectorizer::new(crossed).unwrap().fit(&DOCS).is_err());
    let none_left = TfidfConfig {
        min_df: DocFreq::Count(5),
        ..base
    };
    let err = TfidfVectorizer::new(none_left)
        .unwrap()
        .fit(&DOCS)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no terms remain"), "{err}");
}

#[test]
fn max_features_keeps_most_frequent_like_sklearn() {
    let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let bi = TfidfConfig {
        ngram_range: (1, 2),
        ..TfidfConfig::default()
    };
    // Corpus frequencies: baby 4, love 4, one 3, you 3, "baby baby" 2, "love you" 2, the rest 1.
    // sklearn: T(max_features=4) → ['baby', 'love', 'one', 'you']
    assert_eq!(
        fit_names(TfidfConfig {
            max_features: Some(4),
            ..TfidfConfig::default()
        }),
        words(&["baby", "love", "one", "you"])
    );
    // sklearn: T(max_features=6, ngram_range=(1, 2)) → ['baby', 'baby baby', 'love', 'love you', 'one', 'you']
    assert_eq!(
        fit_names(TfidfConfig {
            max_features: Some(6),
            ..bi.clone()
        }),
        words(&["baby", "baby baby", "love", "love you", "one", "you"])
    );
    // Tie at the cut (one = you = 3): the smaller term wins; sklearn agrees here (['baby', 'love', 'one']).
    assert_eq!(
        fit_names(TfidfConfig {
            max_features: Some(3),
            ..bi.clone()
        }),
        words(&["baby", "love", "one"])
    );
    // Tie "baby baby" = "love you" = 2 for the 5th slot: we keep the smaller term. (sklearn's
    // unstable numpy argsort happens to keep "love you" here; its tie order is unspecified.)
    assert_eq!(
        fit_names(TfidfConfig {
            max_features: Some(5),
            ..bi
        }),
        words(&["baby", "baby baby", "love", "one", "you"])
    );
}

#[test]
fn english_stop_words_are_removed_before_bigrams_like_sklearn() {
    // sklearn: T(stop_words='english', ngram_range=(1, 2)) →
    let want = [
        "baby",
        "baby baby",
        "don",
        "don love",
        "heart",
        "love",
        "love baby",
        "love heart",
        "love love",
    ];
    let c = TfidfConfig {
        english_stop_words: true,
        ngram_range: (1, 2),
        ..TfidfConfig::default()
    };
    assert_eq!(fit_names(c), want);
}

#[test]
fn unseen_terms_and_missing_docs_give_sparse_rows() {
    let mut v = TfidfVectorizer::new(TfidfConfig::word(1, 2)).unwrap();
    v.fit(&DOCS).unwrap();
    let new_docs = [
        Some("zebra love quagga"),
        None,
        Some(""),
        Some("   "),
        Some("totally unseen words"),
    ];
    let x = v.transform(&new_docs).unwrap();
    assert_eq!((x.rows(), x.cols()), (5, 20));
    // Only "love" is known: one entry of weight 1 after L2 normalisation.
    let row0: Vec<(usize, f32)> = x
        .outer_view(0)
        .unwrap()
        .iter()
        .map(|(c, &v)| (c, v))
        .collect();
    assert_eq!(row0, [(6, 1.0)]);
    for r in 1..5 {
        assert_eq!(x.outer_view(r).unwrap().nnz(), 0, "row {r} should be empty");
    }
}

#[test]
fn fitting_on_training_rows_only_does_not_leak_validation_terms() {
    let train = [Some("red blue"), Some("blue green")];
    let valid = [Some("purple red"), Some("violet")];
    let mut v = TfidfVectorizer::new(TfidfConfig::word(1, 2)).unwrap();
    v.fit(&train).unwrap();
    let terms = v.vocabulary().unwrap().terms();
    assert_eq!(terms, ["blue", "blue green", "green", "red", "red blue"]);
    let x = v.transform(&valid).unwrap();
    assert_eq!(x.cols(), 5);
    assert_eq!(
        x.outer_view(0)
            .unwrap()
            .iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(x.outer_view(1).unwrap().nnz(), 0);
    // idf uses the 2 training documents only: red has df 1 → ln(3/2) + 1.
    assert!((v.idf().unwrap()[3] - ((3.0f64 / 2.0).ln() + 1.0)).abs() < 1e-12);
}

#[test]
fn empty_training_corpus_is_an_error_not_a_panic() {
    let mut v = TfidfVectorizer::new(TfidfConfig::default()).unwrap();
    assert!(v.fit(&[None::<&str>, Some(""), Some("a !")]).is_err());
    assert!(v.fit::<&str>(&[]).is_err());
    assert!(
        v.transform(&[Some("x")]).is_err(),
        "transform before a successful fit"
    );
}

/// One-letter words and symbols leave the word analyzer without a term; the character n-grams
/// carry the column alone. With no term anywhere, the error names each analyzer.
#[test]
fn a_union_drops_an_analyzer_that_finds_no_term() {
    let docs = [Some("x c x"), Some("★★☆ y"), Some("b c")];
    let mut u = TfidfUnion::word_and_char_wb();
    let m = u.fit_transform(&docs).unwrap();
    assert_eq!(u.parts().len(), 1);
    assert_eq!(u.parts()[0].config().prefix(), "char");
    assert_eq!(m.cols(), u.n_features());
    assert!(m.cols() > 0);
    assert_eq!(u.transform(&[Some("x y")]).unwrap().cols(), m.cols());
    let mut u = TfidfUnion::word_and_char_wb();
    let e = u.fit(&[Some(""), None]).unwrap_err().to_string();
    assert!(
        e.contains("'word' analyzer") && e.contains("'char' analyzer"),
        "{e}"
    );
}

#[test]
fn union_hstacks_word_and_char_blocks() {
    let albums = [
        Some("Abbey Road"),
        Some("Let It Be"),
        None,
        Some("Road to Ruin"),
        Some("Être"),
    ];
    let mut u = TfidfUnion::word_and_char_wb();
    let x = u.fit_transform(&albums).unwrap();
    let mut w = TfidfVectorizer::new(TfidfConfig::word(1, 2)).unwrap();
    let xw = w.fit_transform(&albums).unwrap();
    let mut c = TfidfVectorizer::new(TfidfConfig::char_wb(2, 5)).unwrap();
    let xc = c.fit_transform(&albums).unwrap();
    assert_eq!(x.cols(), xw.cols() + 84);
    assert_eq!(x.nnz(), xw.nnz() + xc.nnz());
    assert_eq!(u.n_features(), x.cols());
    let names = u.feature_names();
    assert_eq!(names.len(), x.cols());
    assert_eq!(names[0], "word:abbey");
    assert_eq!(names[xw.cols() + 14], "char: r");
    for r in 0..5 {
        let row = x.outer_view(r).unwrap();
        let word_part: Vec<(usize, f32)> = xw
            .outer_view(r)
            .unwrap()
            .iter()
            .map(|(c, &v)| (c, v))
            .collect();
        let char_part: Vec<(usize, f32)> = xc
            .outer_view(r)
            .unwrap()
            .iter()
            .map(|(c, &v)| (c + xw.cols(), v))
            .collect();
        let stacked: Vec<(usize, f32)> = row.iter().map(|(c, &v)| (c, v)).collect();
        assert_eq!(stacked, [word_part, char_part].concat());
    }
    assert_eq!(u.transform(&albums).unwrap(), x);
    // Two analyzers with the same prefix would give ambiguous names.
    assert!(TfidfUnion::new(vec![TfidfConfig::word(1, 1), TfidfConfig::word(2, 2)]).is_err());
    let named = TfidfConfig {
        name_prefix: Some("word2".into()),
        ..TfidfConfig::word(2, 2)
    };
    assert!(TfidfUnion::new(vec![TfidfConfig::word(1, 1), named]).is_ok());
}

#[test]
fn fitted_vectorizer_round_trips_through_serde() {
    let mut u = TfidfUnion::word_and_char_wb();
    u.fit(&DOCS).unwrap();
    let json = serde_json::to_string(&u).unwrap();
    let back: TfidfUnion = serde_json::from_str(&json).unwrap();
    let probe = [Some("love you baby"), None, Some("brand new words")];
    assert_eq!(
        back.transform(&probe).unwrap(),
        u.transform(&probe).unwrap()
    );
    assert_eq!(back.feature_names(), u.feature_names());
    assert_eq!(back.parts()[1].config().analyzer, Analyzer::CharWb);
}

#[test]
fn results_do_not_depend_on_thread_count() {
    // Enough documents for several parallel blocks.
    let docs: Vec<Option<String>> = (0..500)
        .map(|i| {
            if i % 7 == 0 {
                None
            } else {
                Some(format!(
                    "w{} w{} common x{} w{}",
                    i % 13,
                    i % 29,
                    i % 5,
                    i % 3
                ))
            }
        })
        .collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut v = TfidfVectorizer::new(TfidfConfig {
                min_df: DocFreq::Count(2),
                ..TfidfConfig::word(1, 2)
            })
            .unwrap();
            let fit = v.fit_transform(&docs).unwrap();
            (fit, v.transform(&docs).unwrap(), v.feature_names())
        })
    };
    let (a_fit, a_tr, a_names) = run(1);
    let (b_fit, b_tr, b_names) = run(3);
    assert_eq!(a_names, b_names);
    assert_eq!(a_fit, b_fit);
    assert_eq!(a_tr, b_tr);
    assert_eq!(a_fit, a_tr);
}
