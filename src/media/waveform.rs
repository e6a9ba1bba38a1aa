//! Voice-message waveforms from mono 16-bit PCM, pure and streaming.
//!
//! An [`Envelope`] turns PCM (as it arrives from ffmpeg's stdout) into one loudness level per
//! bucket, keeping only the levels in memory (a few hundred bytes per minute). Levels are the
//! RMS of each bucket scaled so a full-scale sine reads 1.0. The two shapes the bridge needs
//! are made from them:
//! - Instagram's `waveform`: floats 0..=1, 10 per second (`waveform_sampling_frequency_hz=10`),
//!   see [`waveform_from_pcm`] and [`normalise`];
//! - MSC3245's `org.matrix.msc1767.audio.waveform`: 30 to 100 integers 0..=1024, see
//!   [`matrix_waveform`].
//!
//! Both are normalised to the loudest bucket, as voice players draw them, but never amplified
//! by more than 1/[`NOISE_FLOOR`], so silence and faint hiss stay flat.

/// Instagram's waveform sampling frequency, in points per second.
pub const INSTAGRAM_POINTS_PER_SEC: u32 = 10;
/// The resolution kept for Matrix waveforms before they are reduced to their point count.
pub const MATRIX_POINTS_PER_SEC: u32 = 50;
/// The fewest and most points of a Matrix waveform.
pub const MATRIX_MIN_POINTS: usize = 30;
pub const MATRIX_MAX_POINTS: usize = 100;
/// The level (about −36 dBFS) below which a recording counts as silence when normalising.
pub const NOISE_FLOOR: f32 = 1.0 / 64.0;

/// Loudness per bucket of streamed mono s16 PCM.
#[derive(Debug, Clone)]
pub struct Envelope {
    sample_rate: u32,
    bucket_len: u64,
    sum_squares: f64,
    in_bucket: u64,
    samples: u64,
    levels: Vec<f32>,
    /// A byte of a sample split between two chunks.
    odd_byte: Option<u8>,
}

impl Envelope {
    /// `points_per_sec` buckets per second of audio at `sample_rate` (both at least 1).
    pub fn new(sample_rate: u32, points_per_sec: u32) -> Self {
        let sample_rate = sample_rate.max(1);
        let bucket_len = (u64::from(sample_rate) / u64::from(points_per_sec.max(1))).max(1);
        Self {
            sample_rate,
            bucket_len,
            sum_squares: 0.0,
            in_bucket: 0,
            samples: 0,
            levels: Vec::new(),
            odd_byte: None,
        }
    }

    /// Adds samples.
    pub fn push(&mut self, samples: &[i16]) {
        for &s in samples {
            self.push_one(s);
        }
    }

    /// Adds little-endian s16 bytes (`ffmpeg -f s16le`); a sample may straddle two calls.
    pub fn push_le_bytes(&mut self, mut bytes: &[u8]) {
        if let (Some(lo), Some((&hi, rest))) = (self.odd_byte, bytes.split_first()) {
            self.push_one(i16::from_le_bytes([lo, hi]));
            self.odd_byte = None;
            bytes = rest;
        }
        let mut pairs = bytes.chunks_exact(2);
        for pair in &mut pairs {
            self.push_one(i16::from_le_bytes([pair[0], pair[1]]));
        }
        if let [last] = pairs.remainder() {
            self.odd_byte = Some(*last);
        }
    }

    fn push_one(&mut self, sample: i16) {
        let v = f64::from(sample) / 32768.0;
        self.sum_squares += v * v;
        self.in_bucket += 1;
        self.samples += 1;
        if self.in_bucket == self.bucket_len {
            self.close_bucket();
        }
    }

    fn close_bucket(&mut self) {
        let rms = (self.sum_squares / self.in_bucket as f64).sqrt();
        self.levels
            .push((rms * std::f64::consts::SQRT_2).min(1.0) as f32);
        self.sum_squares = 0.0;
        self.in_bucket = 0;
    }

    /// How long the audio pushed so far lasts, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.samples * 1000 / u64::from(self.sample_rate)
    }

    /// The levels (0..=1, not normalised); a last partial bucket counts if at least half full.
    pub fn finish(mut self) -> Vec<f32> {
        if self.in_bucket > 0 && (self.in_bucket * 2 >= self.bucket_len || self.levels.is_empty()) {
            self.close_bucket();
        }
        self.levels
    }
}

/// Scales levels so the loudest is 1.0, amplifying by at most 1/[`NOISE_FLOOR`].
pub fn normalise(levels: &[f32]) -> Vec<f32> {
    let peak = levels
        .iter()
        .copied()
        .fold(0.0f32, f32::max)
        .max(NOISE_FLOOR);
    levels.iter().map(|&l| (l / peak).clamp(0.0, 1.0)).collect()
}

/// Instagram-style waveform of PCM: normalised levels (0..=1), `points_per_sec` per second.
pub fn waveform_from_pcm(samples: &[i16], sample_rate: u32, points_per_sec: u32) -> Vec<f32> {
    let mut envelope = Envelope::new(sample_rate, points_per_sec);
    envelope.push(samples);
    normalise(&envelope.finish())
}

/// Reduces (or stretches) levels to `n` points, each the loudest level of its span.
pub fn resample(levels: &[f32], n: usize) -> Vec<f32> {
    if levels.is_empty() || n == 0 {
        return Vec::new();
    }
    let len = levels.len();
    (0..n)
        .map(|i| {
            let start = (i * len / n).min(len - 1);
            let end = ((i + 1) * len / n).clamp(start + 1, len);
            levels[start..end].iter().copied().fold(0.0, f32::max)
        })
        .collect()
}

/// The MSC3245 waveform of levels taken at `points_per_sec`: one point per 100 ms, at least
/// [`MATRIX_MIN_POINTS`] and at most [`MATRIX_MAX_POINTS`], each 0..=1024, normalised.
/// Empty for empty input.
pub fn matrix_waveform(levels: &[f32], points_per_sec: u32) -> Vec<u16> {
    let tenths = levels.len() * 10 / points_per_sec.max(1) as usize;
    let n = tenths.clamp(MATRIX_MIN_POINTS, MATRIX_MAX_POINTS);
    normalise(&resample(levels, n))
        .into_iter()
        .map(|l| (l * 1024.0).round().clamp(0.0, 1024.0) as u16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f32, rate: u32, amplitude: impl Fn(f32) -> f32) -> Vec<i16> {
        let n = (seconds * rate as f32) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let a = amplitude(t).clamp(0.0, 1.0);
                (a * 32767.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn silence_is_flat_zero() {
        let w = waveform_from_pcm(&vec![0; 8000 * 3], 8000, 10);
        assert_eq!(w.len(), 30);
        assert!(w.iter().all(|&v| v == 0.0), "{w:?}");
        // Faint hiss is not blown up to full scale.
        let hiss: Vec<i16> = (0..8000)
            .map(|i| if i % 2 == 0 { 40 } else { -40 })
            .collect();
        assert!(waveform_from_pcm(&hiss, 8000, 10).iter().all(|&v| v < 0.2));
    }

    #[test]
    fn a_loud_tone_is_near_one() {
        let w = waveform_from_pcm(&tone(2.0, 8000, |_| 1.0), 8000, 10);
        assert_eq!(w.len(), 20);
        assert!(w.iter().all(|&v| v > 0.95 && v <= 1.0), "{w:?}");
        // Absolute level before normalising: a full-scale sine reads about 1.
        let mut e = Envelope::new(8000, 10);
        e.push(&tone(1.0, 8000, |_| 1.0));
        assert!(e.finish().iter().all(|&v| v > 0.95));
    }

    #[test]
    fn a_fade_in_rises() {
        let w = waveform_from_pcm(&tone(3.0, 8000, |t| t / 3.0), 8000, 10);
        assert_eq!(w.len(), 30);
        assert!(w.windows(2).all(|p| p[1] >= p[0]), "{w:?}");
        assert!(w[0] < 0.1 && w[29] > 0.95, "{w:?}");
    }

    #[test]
    fn bytes_may_split_a_sample() {
        let pcm = tone(1.0, 8000, |_| 0.5);
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut whole = Envelope::new(8000, 10);
        whole.push(&pcm);
        let mut pieces = Envelope::new(8000, 10);
        for chunk in bytes.chunks(333) {
            pieces.push_le_bytes(chunk);
        }
        assert_eq!(pieces.duration_ms(), 1000);
        assert_eq!(whole.finish(), pieces.finish());
    }

    #[test]
    fn partial_buckets_and_edge_cases() {
        // 1.04 s: the last 40 ms (less than half a bucket) are dropped, 1.06 s keeps them.
        assert_eq!(waveform_from_pcm(&vec![1000; 8320], 8000, 10).len(), 10);
        assert_eq!(waveform_from_pcm(&vec![1000; 8480], 8000, 10).len(), 11);
        // A very short clip still gets one point; nothing gets none.
        assert_eq!(waveform_from_pcm(&[1000; 10], 8000, 10).len(), 1);
        assert!(waveform_from_pcm(&[], 8000, 10).is_empty());
        // Degenerate parameters do not divide by zero.
        assert_eq!(waveform_from_pcm(&[1000; 10], 0, 0).len(), 10);
        assert_eq!(waveform_from_pcm(&[i16::MIN; 100], 100, 1), vec![1.0]);
    }

    #[test]
    fn matrix_waveform_has_30_to_100_points_up_to_1024() {
        for (seconds, want) in [(0.5, 30), (2.0, 30), (5.0, 50), (60.0, 100)] {
            let mut e = Envelope::new(8000, MATRIX_POINTS_PER_SEC);
            e.push(&tone(seconds, 8000, |t| t / seconds));
            let w = matrix_waveform(&e.finish(), MATRIX_POINTS_PER_SEC);
            assert_eq!(w.len(), want, "{seconds} s");
            assert!(w.iter().all(|&v| v <= 1024));
            assert_eq!(w.iter().max(), Some(&1024));
            assert!(w[0] < w[want - 1]);
        }
        assert!(matrix_waveform(&[], 50).is_empty());
        assert_eq!(matrix_waveform(&[0.0; 10], 50), vec![0; 30]);
    }

    #[test]
    fn resample_takes_peaks() {
        assert_eq!(resample(&[0.1, 0.9, 0.2, 0.3], 2), vec![0.9, 0.3]);
        assert_eq!(resample(&[0.5, 1.0], 4), vec![0.5, 0.5, 1.0, 1.0]);
        assert!(resample(&[0.5], 0).is_empty());
    }
}
