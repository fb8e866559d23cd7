//! Word-level bitset helpers shared by the layout, intersection and ranking
//! code: range fills and tests, run iteration, and a bit-sliced counter that
//! counts, for every bit position at once, how many of n bitsets have it set.
//!
//! Bit `i` of a bitset lives in word `i / 64` at position `i % 64`, so a
//! timeline reads left to right in time as the bit index grows.

/// Words needed for `bits` bits.
pub(crate) fn words_for(bits: usize) -> usize {
    bits.div_ceil(64)
}

/// A mask with bits `lo..hi` of one word set (`0 <= lo <= hi <= 64`).
pub(crate) fn word_mask(lo: usize, hi: usize) -> u64 {
    debug_assert!(lo <= hi && hi <= 64);
    if lo == hi {
        return 0;
    }
    let upper = if hi == 64 { u64::MAX } else { (1u64 << hi) - 1 };
    upper & !((1u64 << lo) - 1)
}

/// Whether bit `i` is set.
pub(crate) fn get(words: &[u64], i: usize) -> bool {
    words.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

/// Sets bits `start..end`.
pub(crate) fn set_range(words: &mut [u64], start: usize, end: usize) {
    let mut i = start;
    while i < end {
        let w = i / 64;
        let hi = end.min((w + 1) * 64);
        words[w] |= word_mask(i % 64, hi - w * 64);
        i = hi;
    }
}

/// Whether every bit in `start..end` is set (true for an empty range).
pub(crate) fn all_set(words: &[u64], start: usize, end: usize) -> bool {
    let mut i = start;
    while i < end {
        let w = i / 64;
        let hi = end.min((w + 1) * 64);
        let m = word_mask(i % 64, hi - w * 64);
        if words.get(w).is_none_or(|x| x & m != m) {
            return false;
        }
        i = hi;
    }
    true
}

/// ORs the first `len` bits of `src` into `dst` starting at bit `pos`.
pub(crate) fn or_at(dst: &mut [u64], pos: usize, src: &[u64], len: usize) {
    let shift = pos % 64;
    let base = pos / 64;
    for (k, s) in src.iter().enumerate().take(words_for(len)) {
        let s = if (k + 1) * 64 > len {
            *s & word_mask(0, len - k * 64)
        } else {
            *s
        };
        dst[base + k] |= s << shift;
        if shift != 0 && s >> (64 - shift) != 0 {
            dst[base + k + 1] |= s >> (64 - shift);
        }
    }
}

/// Bits `start..start + len` of `words` as a bitset of their own (bit 0 =
/// bit `start`), in `N` words; bits past `len` are clear. Bits past the end
/// of `words` read as clear. `len` must fit in `N` words.
pub(crate) fn extract<const N: usize>(words: &[u64], start: usize, len: usize) -> [u64; N] {
    debug_assert!(len <= N * 64);
    let mut out = [0u64; N];
    let (q, off) = (start / 64, start % 64);
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    for (k, o) in out.iter_mut().enumerate().take(words_for(len)) {
        let high = if off == 0 {
            0
        } else {
            word(q + k + 1) << (64 - off)
        };
        *o = word(q + k) >> off | high;
    }
    if !len.is_multiple_of(64) {
        out[len / 64] &= word_mask(0, len % 64);
    }
    out
}

/// The index of the first set bit at or after `from`, if any.
pub(crate) fn next_set(words: &[u64], from: usize) -> Option<usize> {
    let mut w = from / 64;
    let mut cur = *words.get(w)? & !word_mask(0, from % 64);
    loop {
        if cur != 0 {
            return Some(w * 64 + cur.trailing_zeros() as usize);
        }
        w += 1;
        cur = *words.get(w)?;
    }
}

/// The index of the first clear bit at or after `from` (may be past the end).
pub(crate) fn next_clear(words: &[u64], from: usize) -> usize {
    let mut w = from / 64;
    let Some(first) = words.get(w) else {
        return from;
    };
    let mut cur = !first & !word_mask(0, from % 64);
    loop {
        if cur != 0 {
            return w * 64 + cur.trailing_zeros() as usize;
        }
        w += 1;
        match words.get(w) {
            Some(x) => cur = !x,
            None => return w * 64,
        }
    }
}

/// Iterates the maximal runs of set bits as `(start, end)`, end exclusive.
/// Bits past `len` must be clear.
pub(crate) fn runs(words: &[u64]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = next_set(words, at)?;
        let end = next_clear(words, start);
        at = end;
        Some((start, end))
    })
}

/// Iterates the indexes of set bits in increasing order.
pub(crate) fn ones(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &x)| {
        let mut x = x;
        std::iter::from_fn(move || {
            if x == 0 {
                return None;
            }
            let b = x.trailing_zeros() as usize;
            x &= x - 1;
            Some(w * 64 + b)
        })
    })
}

/// Iterates the indexes of set bits in decreasing order.
pub(crate) fn ones_rev(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().rev().flat_map(|(w, &x)| {
        let mut x = x;
        std::iter::from_fn(move || {
            if x == 0 {
                return None;
            }
            let b = 63 - x.leading_zeros() as usize;
            x &= !(1 << b);
            Some(w * 64 + b)
        })
    })
}

/// The number of bit planes needed to count up to `max`, and at least the
/// five that [`add16`] works on.
pub(crate) fn depth_for(max: usize) -> usize {
    ((usize::BITS - max.leading_zeros()) as usize).max(5)
}

/// A carry-save adder: `a + b + c = 2 * carry + sum` at every bit position.
#[inline]
fn csa(a: u64, b: u64, c: u64) -> (u64, u64) {
    let u = a ^ b;
    ((a & b) | (u & c), u ^ c)
}

/// Adds sixteen words into bit-sliced counts at once (Harley–Seal): fifteen
/// branch-free carry-save adders fold them into the four low planes, and only
/// the resulting "sixteens" word ripples into the planes above. About five
/// operations per input instead of a data-dependent carry loop, which is
/// what makes counting 1000 users cheap. `planes.len() >= 5`.
#[inline]
pub(crate) fn add16(planes: &mut [u64], d: &[u64; 16]) {
    let (mut ones, mut twos, mut fours, mut eights) = (planes[0], planes[1], planes[2], planes[3]);
    let mut eights_pair = [0u64; 2];
    for (half, e) in d.chunks_exact(8).zip(&mut eights_pair) {
        let mut fours_pair = [0u64; 2];
        for (quarter, f) in half.chunks_exact(4).zip(&mut fours_pair) {
            let (twos_a, o) = csa(ones, quarter[0], quarter[1]);
            let (twos_b, o) = csa(o, quarter[2], quarter[3]);
            ones = o;
            let (carry, t) = csa(twos, twos_a, twos_b);
            twos = t;
            *f = carry;
        }
        let (carry, f) = csa(fours, fours_pair[0], fours_pair[1]);
        fours = f;
        *e = carry;
    }
    let (sixteens, e) = csa(eights, eights_pair[0], eights_pair[1]);
    eights = e;
    planes[..4].copy_from_slice(&[ones, twos, fours, eights]);
    add_to(&mut planes[4..], sixteens);
}

/// Adds `x` into bit-sliced counts `planes` (plane `p` holds bit `p` of each
/// position's count). The caller sizes `planes` so the count cannot overflow.
#[inline]
pub(crate) fn add_to(planes: &mut [u64], x: u64) {
    let mut carry = x;
    for p in planes {
        if carry == 0 {
            break;
        }
        let next = *p & carry;
        *p ^= carry;
        carry = next;
    }
}

/// A mask of the positions whose bit-sliced count in `planes` is at least
/// `k`: a comparison with the constant `k`, most significant plane first.
pub(crate) fn at_least(planes: &[u64], k: usize) -> u64 {
    if k == 0 {
        return u64::MAX;
    }
    if k >> planes.len() != 0 {
        return 0;
    }
    let (mut gt, mut eq) = (0u64, u64::MAX);
    for (p, plane) in planes.iter().enumerate().rev() {
        if k >> p & 1 == 1 {
            eq &= plane;
        } else {
            gt |= eq & plane;
            eq &= !plane;
        }
    }
    gt | eq
}

/// Per-bit population counts of many bitsets, kept bit-sliced: plane `p`
/// holds bit `p` of every position's count, so adding a bitset is a ripple
/// carry over a handful of words instead of 64 separate increments.
pub(crate) struct Counter {
    /// Planes interleaved per word (`planes[w * depth + p]`), so one add
    /// touches adjacent memory.
    planes: Vec<u64>,
    depth: usize,
}

impl Counter {
    /// A zeroed counter for `words` words that can count up to `max`.
    pub(crate) fn new(words: usize, max: usize) -> Self {
        let depth = depth_for(max);
        Self {
            planes: vec![0; words * depth],
            depth,
        }
    }

    /// Adds sixteen words to the counts of word `w` (see [`add16`]).
    #[inline]
    pub(crate) fn add16(&mut self, w: usize, d: &[u64; 16]) {
        add16(&mut self.planes[w * self.depth..(w + 1) * self.depth], d);
    }

    /// Adds `x` to the counts of word `w`.
    #[inline]
    pub(crate) fn add(&mut self, w: usize, x: u64) {
        add_to(&mut self.planes[w * self.depth..(w + 1) * self.depth], x);
    }

    /// A mask of the positions in word `w` whose count is at least `k`.
    pub(crate) fn at_least(&self, w: usize, k: usize) -> u64 {
        at_least(&self.planes[w * self.depth..(w + 1) * self.depth], k)
    }

    /// The count at bit `i`.
    pub(crate) fn count(&self, i: usize) -> usize {
        let (w, b) = (i / 64, i % 64);
        self.planes[w * self.depth..(w + 1) * self.depth]
            .iter()
            .enumerate()
            .map(|(p, x)| ((x >> b) as usize & 1) << p)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_spanning_words_are_set_and_tested_exactly() {
        let mut w = vec![0; 3];
        set_range(&mut w, 60, 130);
        assert!(all_set(&w, 60, 130));
        assert!(!all_set(&w, 59, 130));
        assert!(!all_set(&w, 60, 131));
        assert_eq!(runs(&w).collect::<Vec<_>>(), vec![(60, 130)]);
        assert_eq!(ones(&w).count(), 70);
        let back: Vec<usize> = ones_rev(&w).collect();
        let mut fwd: Vec<usize> = ones(&w).collect();
        fwd.reverse();
        assert_eq!(back, fwd);
    }

    #[test]
    fn or_at_shifts_bits_across_word_boundaries() {
        let mut dst = vec![0; 3];
        let src = [u64::MAX, u64::MAX];
        or_at(&mut dst, 10, &src, 100);
        assert_eq!(runs(&dst).collect::<Vec<_>>(), vec![(10, 110)]);
    }

    #[test]
    fn next_clear_runs_off_the_end_of_a_full_bitset() {
        let w = vec![u64::MAX; 2];
        assert_eq!(next_clear(&w, 5), 128);
        assert_eq!(next_set(&w, 128), None);
    }

    #[test]
    fn the_bit_sliced_counter_agrees_with_counting_bit_by_bit() {
        let inputs: Vec<u64> = (0..1000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32))
            .map(|x| if x % 3 == 0 { u64::MAX } else { x })
            .collect();
        let mut c = Counter::new(1, inputs.len());
        let mut chunks = inputs.chunks_exact(16);
        for (i, chunk) in chunks.by_ref().enumerate() {
            if i % 2 == 0 {
                c.add16(0, chunk.try_into().expect("16 words"));
            } else {
                chunk.iter().for_each(|x| c.add(0, *x));
            }
        }
        for x in chunks.remainder() {
            c.add(0, *x);
        }
        for b in 0..64 {
            let expected = inputs.iter().filter(|x| *x >> b & 1 == 1).count();
            assert_eq!(c.count(b), expected);
            for k in 0..=inputs.len() + 1 {
                assert_eq!(c.at_least(0, k) >> b & 1 == 1, expected >= k, "k={k}");
            }
        }
    }
}
