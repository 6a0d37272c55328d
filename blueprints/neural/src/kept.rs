//! Working buffers each thread keeps from one call to the next, so the forward passes of a
//! batch do not allocate, zero and fault in their memory again. rayon's `map_init` makes a
//! fresh value for every piece it splits a batch into (several per thread per batch). The
//! kernels keep their scratch here too (the dense convolutions' padded input and im2col tile,
//! the int8 GEMM's quantized rows). A thread's kept value stays as large as its largest use.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    /// Per type: this thread's kept value, an `Option<W>` (empty while in use).
    static KEPT: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Runs `f` on this thread's kept `W` (a default one the first time) and keeps it for the next
/// call. A call made while the thread's `W` is in use (a rayon thread that takes another image
/// while it waits inside the first) gets a fresh `W`.
pub fn with_kept<W: Default + 'static, R>(f: impl FnOnce(&mut W) -> R) -> R {
    let key = TypeId::of::<W>();
    let mut value: W = KEPT
        .with_borrow_mut(|kept| {
            kept.get_mut(&key)
                .and_then(|slot| slot.downcast_mut::<Option<W>>())
                .and_then(Option::take)
        })
        .unwrap_or_default();
    let out = f(&mut value);
    KEPT.with_borrow_mut(|kept| {
        let slot = kept.entry(key).or_insert_with(|| Box::new(None::<W>));
        if let Some(slot) = slot.downcast_mut::<Option<W>>() {
            *slot = Some(value);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_gets_its_buffer_back_and_a_nested_call_a_fresh_one() {
        #[derive(Default)]
        struct Buffer(Vec<f32>);
        let first = with_kept(|b: &mut Buffer| {
            b.0.resize(1000, 1.0);
            b.0.as_ptr() as usize
        });
        let (again, nested_len) = with_kept(|b: &mut Buffer| {
            let nested = with_kept(|inner: &mut Buffer| inner.0.len());
            (b.0.as_ptr() as usize, nested)
        });
        assert_eq!(again, first, "the same allocation, kept");
        assert_eq!(
            nested_len, 0,
            "a call while the buffer is in use gets a fresh one"
        );
        let other_thread = std::thread::spawn(|| with_kept(|b: &mut Buffer| b.0.len()))
            .join()
            .unwrap();
        assert_eq!(other_thread, 0, "each thread keeps its own");
        assert_eq!(with_kept(|b: &mut Buffer| b.0.len()), 1000);
    }
}
