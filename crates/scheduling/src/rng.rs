//! A tiny seeded PRNG (SplitMix64) for the `random` preference.
//!
//! Reproducibility is the point: the same seed must give the same suggestions
//! on every replica and every release, so the generator is written out here
//! (ten lines, public-domain algorithm by Sebastiano Vigna) rather than taken
//! from a crate whose stream could change between versions.

/// SplitMix64: a 64-bit state advanced by a Weyl sequence and finalised by a
/// bit mixer. Statistically fine for shuffling; not for secrets.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (`bound > 0`), without modulo bias
    /// (Lemire's multiply-and-reject).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(bound);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_matches_the_published_splitmix64_values() {
        // Reference outputs for seed 1234567 from Vigna's splitmix64.c.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn bounded_draws_stay_below_the_bound_and_cover_it() {
        let mut r = SplitMix64::new(7);
        let mut seen = [false; 5];
        for _ in 0..200 {
            let x = r.below(5) as usize;
            seen[x] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
